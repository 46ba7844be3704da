// The plan's vocabulary, shared by the planner, the backends that execute a plan
// and everything that prints one. Types only: importing it never creates a cycle.
import type { IpRuleSpec, RouteSpec, TableState } from '../shared/model.js';
import type { NftOp } from '../native/types.js';
import type { ObjectView } from './views.js';

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

export type RtnlOp =
  | { verb: 'add' | 'del'; kind: 'rule'; rule: IpRuleSpec }
  | { verb: 'add' | 'del'; kind: 'route'; route: RouteSpec };

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
}
