// The undo log of one apply attempt: every effect that succeeded pushes its inverse;
// a later failure runs them newest first.

export class UndoLog {
  private readonly steps: Array<() => void> = [];

  push(step: () => void): void {
    this.steps.push(step);
  }

  /** Runs every step in reverse order; a step that fails is skipped (the original failure is what gets reported). */
  rollback(): void {
    for (const step of this.steps.reverse()) {
      try {
        step();
      } catch {
        /* best effort */
      }
    }
    this.steps.length = 0;
  }
}
