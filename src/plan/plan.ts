// plan(current, desired): the minimal, ordered set of kernel operations that turns
// what the kernel has (read back) into what the config wants. Pure and
// deterministic: same inputs, deep-equal plan. It never looks at anything netcg
// does not own: `current` holds only netcg's table and its protocol-tagged ip
// rules and routes, so foreign objects cannot appear in a plan.
import type { RtnlOp } from '../backends/types.js';
import type { DesiredState, IpRuleSpec, RouteSpec, TableState } from '../model.js';
import type { NftOp } from '../native/types.js';
import { planRtnl } from './rtnl.js';
import { planTable } from './table.js';
import type { ObjectView } from './views.js';

export { splitRtnl } from './rtnl.js';

/** netcg's objects as read back from the kernel; `table` is undefined when netcg's table does not exist. */
export interface CurrentState {
  table?: TableState;
  ipRules: IpRuleSpec[];
  routes: RouteSpec[];
}

export type ChangeAction = '+' | '-' | '~';
export type ChangeKind = 'table' | 'map' | 'element' | 'chain' | 'rule' | 'ip rule' | 'route';

/** One object that the plan adds ('+'), destroys ('-') or changes ('~': deleted and re-created). See docs/diff-json.md. */
export interface Change {
  action: ChangeAction;
  kind: ChangeKind;
  id: string;
  before?: ObjectView;
  after?: ObjectView;
}

export interface Plan {
  /** One nf_tables batch, in an order the kernel accepts message by message. */
  nft: NftOp[];
  /** rtnetlink ops in a safe order: routes before the rules that use them, rules removed before their routes. */
  rtnl: RtnlOp[];
  /** The human/JSON view of the same plan, one entry per object. */
  changes: Change[];
}

export function plan(current: CurrentState, desired: DesiredState): Plan {
  const table = planTable(current.table, desired.table);
  const rtnl = planRtnl(current, desired);
  return { nft: table.ops, rtnl: rtnl.ops, changes: [...table.changes, ...rtnl.changes] };
}

export function isEmptyPlan(p: Plan): boolean {
  return p.nft.length === 0 && p.rtnl.length === 0;
}

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
}

export function summarize(p: Plan): PlanSummary {
  const count = (a: ChangeAction) => p.changes.filter((c) => c.action === a).length;
  return { add: count('+'), change: count('~'), destroy: count('-') };
}
