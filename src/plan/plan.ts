// plan(current, desired): the minimal, ordered set of kernel operations that turns
// what the kernel has (read back) into what the config wants. Pure and
// deterministic: same inputs, deep-equal plan. It never looks at anything netcg
// does not own: `current` holds only netcg's table and its protocol-tagged ip
// rules and routes, so foreign objects cannot appear in a plan.
import type { DesiredState } from '../shared/model.js';
import { planRtnl } from './rtnl.js';
import { planTable } from './table.js';
import type { ChangeAction, CurrentState, Plan, PlanSummary } from './types.js';

export { splitRtnl } from './rtnl.js';
export type { Change, ChangeAction, ChangeKind, CurrentState, Plan, PlanSummary } from './types.js';

export function plan(current: CurrentState, desired: DesiredState): Plan {
  const table = planTable(current.table, desired.table);
  const rtnl = planRtnl(current, desired);
  return { nft: table.ops, rtnl: rtnl.ops, changes: [...table.changes, ...rtnl.changes] };
}

export function isEmptyPlan(p: Plan): boolean {
  return p.nft.length === 0 && p.rtnl.length === 0;
}

export function summarize(p: Plan): PlanSummary {
  const count = (a: ChangeAction) => p.changes.filter((c) => c.action === a).length;
  return { add: count('+'), change: count('~'), destroy: count('-') };
}
