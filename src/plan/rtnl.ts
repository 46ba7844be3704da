// The rtnetlink half of plan. rtnetlink has no transactions, so the order is the
// safety: a marked packet must never find an ip rule whose table has no route.
//   1. routes added (a changed route: its old version deleted, then the new added)
//   2. ip rules added          - their tables are filled by now
//   3. ip rules deleted        - before the routes they point at
//   4. routes deleted
// Steps 1-2 are all additions and 3-4 all deletions (except the delete half of a
// changed route), so a caller may run the first part before the nf_tables batch
// and the rest after it (see splitRtnl).
import type { IpRuleSpec, RouteSpec } from '../shared/model.js';
import { ipRuleKey, routeAttrsKey, routeIdentity } from './normalize.js';
import type { Change, RtnlOp } from './types.js';
import { ipRuleView, routeView } from './views.js';

const ruleId = (r: IpRuleSpec) => {
  const v = ipRuleView(r);
  return `ipv${v.family} ${v.priority} fwmark 0x${v.fwmark.toString(16)}/0x${v.fwmask.toString(16)} lookup ${v.table}`;
};
const routeId = (r: RouteSpec) => {
  const v = routeView(r);
  return `ipv${v.family} ${v.dst} table ${v.table}`;
};

/** Multiset difference by key: each current item matches at most one desired item. */
function difference<T>(have: T[], want: T[], key: (x: T) => string): { del: T[]; add: T[] } {
  const pool = new Map<string, number>();
  for (const w of want) pool.set(key(w), (pool.get(key(w)) ?? 0) + 1);
  const del: T[] = [];
  for (const h of have) {
    const n = pool.get(key(h)) ?? 0;
    if (n > 0) pool.set(key(h), n - 1);
    else del.push(h);
  }
  const left = new Map<string, number>();
  for (const h of have) left.set(key(h), (left.get(key(h)) ?? 0) + 1);
  const add: T[] = [];
  for (const w of want) {
    const n = left.get(key(w)) ?? 0;
    if (n > 0) left.set(key(w), n - 1);
    else add.push(w);
  }
  return { del, add };
}

export function planRtnl(
  have: { ipRules: IpRuleSpec[]; routes: RouteSpec[] },
  want: { ipRules: IpRuleSpec[]; routes: RouteSpec[] },
): { ops: RtnlOp[]; changes: Change[] } {
  const rules = difference(have.ipRules, want.ipRules, ipRuleKey);
  // Routes: same identity with other attributes is a change; then plain set difference.
  const routes = difference(have.routes, want.routes, (r) => `${routeIdentity(r)}|${routeAttrsKey(r)}`);
  const addedIds = new Map(routes.add.map((r) => [routeIdentity(r), r]));
  const changed = routes.del
    .filter((r) => addedIds.has(routeIdentity(r)))
    .map((before) => ({ before, after: addedIds.get(routeIdentity(before))! }));
  const changedIds = new Set(changed.map((c) => routeIdentity(c.before)));
  const routeDels = routes.del.filter((r) => !changedIds.has(routeIdentity(r)));
  const routeAdds = routes.add.filter((r) => !changedIds.has(routeIdentity(r)));

  const changedByAfter = new Map(changed.map((c) => [c.after, c]));
  const added = new Set(routeAdds);
  const ops: RtnlOp[] = [];
  for (const r of want.routes) {
    const c = changedByAfter.get(r);
    if (c)
      ops.push(
        { verb: 'del', kind: 'route', route: c.before },
        { verb: 'add', kind: 'route', route: c.after },
      );
    else if (added.has(r)) ops.push({ verb: 'add', kind: 'route', route: r });
  }
  for (const rule of rules.add) ops.push({ verb: 'add', kind: 'rule', rule });
  for (const rule of rules.del) ops.push({ verb: 'del', kind: 'rule', rule });
  for (const route of routeDels) ops.push({ verb: 'del', kind: 'route', route });

  const changes: Change[] = [
    ...rules.del.map((r): Change => ({ action: '-', kind: 'ip rule', id: ruleId(r), before: ipRuleView(r) })),
    ...rules.add.map((r): Change => ({ action: '+', kind: 'ip rule', id: ruleId(r), after: ipRuleView(r) })),
    ...routeDels.map((r): Change => ({ action: '-', kind: 'route', id: routeId(r), before: routeView(r) })),
    ...changed.map(
      (c): Change => ({
        action: '~',
        kind: 'route',
        id: routeId(c.after),
        before: routeView(c.before),
        after: routeView(c.after),
      }),
    ),
    ...routeAdds.map((r): Change => ({ action: '+', kind: 'route', id: routeId(r), after: routeView(r) })),
  ];
  return { ops, changes };
}

/**
 * The rtnetlink ops to run before the nf_tables batch (everything up to the last
 * addition: tables are filled before anything marks packets for them) and after it
 * (the trailing deletions: nothing is marked for them any more).
 */
export function splitRtnl(ops: RtnlOp[]): { before: RtnlOp[]; after: RtnlOp[] } {
  let last = -1;
  ops.forEach((op, i) => {
    if (op.verb === 'add') last = i;
  });
  return { before: ops.slice(0, last + 1), after: ops.slice(last + 1) };
}
