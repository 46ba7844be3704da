// One list of undo actions for everything the bench creates (namespaces, cgroups,
// temp dirs, child processes). run.mjs drains it in a finally block and on
// SIGINT/SIGTERM, so an interrupted run leaves nothing behind.
const actions = new Map();
let nextId = 0;

/** Registers an undo action; returns a function that forgets it (call after undoing it yourself). */
export function track(undo) {
  const id = nextId++;
  actions.set(id, undo);
  return () => actions.delete(id);
}

/** Runs every pending undo action, newest first; never throws. Returns the failures. */
export function cleanupAll() {
  const failures = [];
  for (const [id, undo] of [...actions].reverse()) {
    actions.delete(id);
    try {
      undo();
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  return failures;
}

/** On Ctrl-C / kill: clean up, then exit with the conventional code. */
export function cleanupOnSignals() {
  for (const [signal, code] of /** @type {const} */ ([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ])) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
      for (const f of cleanupAll()) process.stderr.write(`bench: cleanup: ${f}\n`);
      process.exit(code);
    });
  }
}
