// The Reconciler's memory of verified profile cgroups (src/cgroups/verified.ts):
// re-applies check only new or changed profiles, yet every change of the parent
// directory — a profile cgroup deleted, deleted and re-created (a new cgroup2 ID),
// a foreign directory added — is noticed and repaired on the next apply, for net_cls
// and for cgroup v2 profiles. invalidate() makes the next apply check everything.
// Namespaces and cgroups are throwaway and removed in afterAll.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { diff } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { findNetCls } from '../../src/cgroups/netcls.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { removeCgroupParent } from '../testbed/cgroups.js';
import { addon } from '../../src/native/index.js';
import { isEmptyPlan } from '../../src/plan/plan.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';
import { withReconciler } from '../helpers/reconciler.js';

let ns: Netns;
const table = uniqueName('ncrct');
const cgroupParent = uniqueName('ncrccg');

/** Profiles p<i>: DNS redirect and IPv6 reject, matched by net_cls (classid 700+i) or by cgroup v2. */
function configOf(indices: number[], match: 'net_cls' | 'cgroupv2'): Config {
  const profiles: Record<string, unknown> = {};
  for (const i of indices)
    profiles[`p${i}`] = { classid: 700 + i, match, dns: { redirect: 5354 }, ipv6: 'reject' };
  return parseConfig(JSON.stringify({ table, cgroupParent, profiles }), 'reconciler-cgroups-test.json');
}

function freshDiffIsEmpty(config: Config): boolean {
  const b = new NetlinkBackend(ns.path);
  try {
    return isEmptyPlan(diff(config, b).plan);
  } finally {
    b.close();
  }
}

const actions = (report: { cgroups: Array<{ profile: string; action: string }> }) =>
  Object.fromEntries(
    report.cgroups.filter((c) => c.action !== 'unchanged').map((c) => [c.profile, c.action]),
  );

beforeAll(() => {
  ns = createNetns('ncrc');
});

afterAll(() => {
  try {
    ns?.remove();
  } finally {
    removeCgroupParent(cgroupParent);
  }
});

describe('Reconciler: verified cgroups (net_cls)', () => {
  it('checks only what is new, and notices a profile cgroup deleted or a foreign directory added', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1, 2], 'net_cls');
      expect(actions(r.apply(config))).toEqual({ p0: 'created', p1: 'created', p2: 'created' });
      const dir = (p: string) => join(findNetCls()!, cgroupParent, p);

      // Unchanged: nothing to do, and no cgroup reported as anything but unchanged.
      expect(actions(r.apply(config))).toEqual({});

      // One more profile: only its cgroup is created.
      const grown = configOf([0, 1, 2, 3], 'net_cls');
      expect(actions(r.apply(grown))).toEqual({ p3: 'created' });
      expect(readFileSync(join(dir('p3'), 'net_cls.classid'), 'utf8').trim()).toBe('703');

      // Someone removes a profile cgroup: the parent changed, so the next apply checks all and re-creates it.
      rmdirSync(dir('p1'));
      expect(actions(r.apply(grown))).toEqual({ p1: 'created' });
      expect(existsSync(dir('p1'))).toBe(true);

      // A directory that is no profile's appears under the parent: the sweep sees it and removes it.
      mkdirSync(dir('stray'));
      expect(actions(r.apply(grown))).toEqual({ stray: 'removed' });
      expect(existsSync(dir('stray'))).toBe(false);

      // A profile removed from the config: its cgroup goes (the memory knew it was there).
      expect(actions(r.apply(configOf([0, 1, 3], 'net_cls')))).toEqual({ p2: 'removed' });
      expect(existsSync(dir('p2'))).toBe(false);
      expect(freshDiffIsEmpty(configOf([0, 1, 3], 'net_cls'))).toBe(true);
    });
  });

  it('a classid rewritten by hand inside a profile cgroup is repaired once invalidate() asks for a full check', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1], 'net_cls');
      r.apply(config);
      const classid = join(findNetCls()!, cgroupParent, 'p1', 'net_cls.classid');
      writeFileSync(classid, '4242\n', { flag: 'r+' });
      // The parent directory did not change: the memory's check cannot see inside p1.
      expect(actions(r.apply(config))).toEqual({});
      r.invalidate();
      expect(actions(r.apply(config))).toEqual({ p1: 'updated' });
      expect(readFileSync(classid, 'utf8').trim()).toBe('701');
    });
  });

  it('a failed apply forgets the memory: the next one checks everything', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1], 'net_cls');
      r.apply(config);
      // A route through an interface the namespace lacks: refused before any change.
      const bad = parseConfig(
        JSON.stringify({ table, cgroupParent, profiles: { p0: { classid: 700, route: { via: 'nope0' } } } }),
        'bad.json',
      );
      expect(() => r.apply(bad)).toThrow(/nope0/);
      const classid = join(findNetCls()!, cgroupParent, 'p0', 'net_cls.classid');
      writeFileSync(classid, '4243\n', { flag: 'r+' });
      expect(actions(r.apply(config))).toEqual({ p0: 'updated' });
    });
  });
});

describe('Reconciler: verified cgroups (cgroup v2)', () => {
  it('a profile cgroup deleted and re-created (new ID) is repaired on the next apply, and its ID remembered', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([5, 6], 'cgroupv2');
      r.apply(config);
      expect(r.apply(config).changed).toBe(false);
      const dir = join(findCgroup2()!, cgroupParent, 'p6');
      const before = addon.cgroupId(dir);
      rmdirSync(dir);
      mkdirSync(dir);
      const after = addon.cgroupId(dir);
      expect(after).not.toBe(before);

      // diff from memory sees the stale element (the parent changed, so the ID is read again)...
      const d = r.diff(config);
      const elementOps = d.plan.nft.filter((op) => op.object === 'element');
      // In each of p6's two maps (DNS, IPv6): the old ID's element out, the new one's in.
      expect(elementOps.map((op) => op.verb).sort()).toEqual(['add', 'add', 'delete', 'delete']);
      expect(JSON.stringify(elementOps)).toMatch(/dns_p6.*ipv6_p6|ipv6_p6.*dns_p6/);
      expect(JSON.stringify(elementOps)).not.toContain('_p5');
      // ...and apply repairs it.
      const fixed = r.apply(config);
      expect(fixed.changed).toBe(true);
      expect(fixed.matches.find((m) => m.profile === 'p6')!.id).toBe(after.toString());
      expect(freshDiffIsEmpty(config)).toBe(true);
      // Then the remembered IDs are the new ones: nothing to do.
      expect(r.apply(config).changed).toBe(false);
      expect(r.diff(config).plan.nft).toEqual([]);
    });
  });
});
