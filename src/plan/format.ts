// Rendering a plan for people (`netcg diff`, like `terraform plan`) and for
// programs (`netcg diff --json`, schema in docs/diff-json.md).
import pc from 'picocolors';

import type { Change, Plan, PlanSummary } from './plan.js';
import { summarize } from './plan.js';
import { changeText } from './text.js';

/** Bumped on any incompatible change to planToJson's output. */
export const DIFF_JSON_VERSION = 1;

export interface FormatOptions {
  /** Colour + green, - red, ~ yellow (pass `process.stdout.isTTY`). */
  color: boolean;
}

export function summaryLine(s: PlanSummary): string {
  if (s.add + s.change + s.destroy === 0) return 'No changes.';
  return `Plan: ${s.add} to add, ${s.change} to change, ${s.destroy} to destroy.`;
}

/** One line per object (+ / - / ~, text in src/plan/text.ts), then the summary; ends with a newline. */
export function formatPlan(plan: Plan, opts: FormatOptions): string {
  const colors = pc.createColors(opts.color);
  const paint = { '+': colors.green, '-': colors.red, '~': colors.yellow } as const;
  const lines = plan.changes.map((c) => `  ${paint[c.action](changeText(c))}`);
  const summary = summaryLine(summarize(plan));
  return `${[...lines, ...(lines.length > 0 ? [''] : []), colors.bold(summary)].join('\n')}\n`;
}

export interface PlanJson {
  version: typeof DIFF_JSON_VERSION;
  changed: boolean;
  summary: PlanSummary;
  operations: { nft: number; rtnl: number };
  changes: Change[];
}

/** The stable machine-readable form (docs/diff-json.md). */
export function planToJson(plan: Plan): PlanJson {
  const summary = summarize(plan);
  return {
    version: DIFF_JSON_VERSION,
    changed: plan.nft.length + plan.rtnl.length > 0,
    summary,
    operations: { nft: plan.nft.length, rtnl: plan.rtnl.length },
    changes: plan.changes.map((c) => ({
      action: c.action,
      kind: c.kind,
      id: c.id,
      ...(c.before ? { before: c.before } : {}),
      ...(c.after ? { after: c.after } : {}),
    })),
  };
}
