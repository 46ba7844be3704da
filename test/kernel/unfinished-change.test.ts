// Where apply looks for netcg's routes (src/apply/lock.ts, src/backends/netlink.ts):
// table by table (the desired state's tables and those netcg's ip rules point at),
// so that a host's big main table costs nothing; in every table after a change that
// did not finish, whose leftovers may be routes no ip rule points at any more.
// A killed apply is played here by its traces: the "unfinished" mark it leaves and
// the ip rules it had removed before the routes of their table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff, down } from '../../src/apply/apply.js';
import { changeUnfinished, markUnfinished } from '../../src/apply/lock.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { isEmptyPlan } from '../../src/plan/plan.js';
import { removeCgroupParent } from '../testbed/cgroups.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const table = uniqueName('ncunt');
const cgroupParent = uniqueName('ncuncg');
let ns: Netns;

/** One profile routed through tun0 with routing table and mark `n`. */
function configWith(n: number): Config {
  const profiles = { vpn: { classid: 900, route: { via: 'tun0', table: n, mark: n } } };
  return parseConfig(JSON.stringify({ table, cgroupParent, profiles }), 'unfinished-test.json');
}

function withBackend<T>(fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(ns.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

/** Routing tables holding netcg's (proto 110) routes, both families, from `ip` itself. */
function tablesWithNetcgRoutes(): string[] {
  const tables = new Set<string>();
  for (const fam of ['-4', '-6'])
    for (const l of ns.ip(fam, 'route', 'show', 'table', 'all', 'proto', '110').split('\n'))
      if (l.trim()) tables.add(/\btable (\S+)/.exec(l)?.[1] ?? 'main');
  return [...tables].sort();
}

/** Deletes netcg's ip rules for `n` (what a killed apply had done before deleting the routes of table n). */
function deleteRules(n: number): void {
  for (const fam of ['-4', '-6']) ns.ip(fam, 'rule', 'del', 'fwmark', String(n), 'table', String(n));
}

beforeAll(() => {
  ns = createNetns('ncun');
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('addr', 'add', '198.18.9.1/30', 'dev', 'tun0');
  ns.ip('link', 'set', 'tun0p', 'up');
  ns.ip('link', 'set', 'tun0', 'up');
});

afterAll(() => {
  try {
    withBackend((b) => down(configWith(301), b));
  } finally {
    ns?.remove();
    removeCgroupParent(cgroupParent);
  }
});

describe('routes no ip rule points at', () => {
  it('a finished apply clears its mark; routes of a table only a dead run knew are left to down', () => {
    withBackend((b) => apply(configWith(300), b));
    expect(changeUnfinished(ns.path)).toBe(false);
    expect(tablesWithNetcgRoutes()).toEqual(['300']);
    // Rules gone, routes left, and no mark: nothing says table 300 was netcg's.
    deleteRules(300);
    withBackend((b) => apply(configWith(301), b));
    expect(tablesWithNetcgRoutes()).toEqual(['300', '301']);
    // down looks everywhere.
    withBackend((b) => down(configWith(301), b));
    expect(tablesWithNetcgRoutes()).toEqual([]);
  });

  it('after a change that did not finish, diff shows and apply removes them, and the mark is cleared', () => {
    withBackend((b) => apply(configWith(300), b));
    markUnfinished(ns.path); // the run that is about to die
    deleteRules(300);
    expect(changeUnfinished(ns.path)).toBe(true);
    const seen = withBackend((b) => diff(configWith(301), b).plan);
    expect(seen.rtnl.filter((op) => op.verb === 'del' && op.kind === 'route').length).toBeGreaterThan(0);
    withBackend((b) => apply(configWith(301), b));
    expect(tablesWithNetcgRoutes()).toEqual(['301']);
    expect(changeUnfinished(ns.path)).toBe(false);
    expect(isEmptyPlan(withBackend((b) => diff(configWith(301), b).plan))).toBe(true);
  });

  it('a failed apply leaves the mark', () => {
    const missing = parseConfig(
      JSON.stringify({ table, cgroupParent, profiles: { vpn: { classid: 900, route: { via: 'nodev0' } } } }),
      'unfinished-test.json',
    );
    expect(() => withBackend((b) => apply(missing, b))).toThrow(/nodev0/);
    expect(changeUnfinished(ns.path)).toBe(true);
    withBackend((b) => apply(configWith(301), b));
    expect(changeUnfinished(ns.path)).toBe(false);
  });
});
