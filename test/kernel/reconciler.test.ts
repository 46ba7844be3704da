// The long-lived Reconciler (src/apply/reconciler.ts): a re-apply with nf_tables untouched
// is answered from memory (one GETGEN instead of a dump) and sends nothing; any
// nf_tables commit by anyone moves the generation and forces a full read-back that
// repairs out-of-band edits; rtnetlink is re-read every time, so a deleted route is
// repaired even on the cached path; and a random sequence of applies through one
// Reconciler ends exactly where a fresh one-shot diff sees nothing to change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';

import { diff } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { removeCgroupParent } from '../testbed/cgroups.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';
import { withReconciler } from '../helpers/reconciler.js';

let ns: Netns;
const table = uniqueName('ncrzt');
const cgroupParent = uniqueName('ncrzcg');

/** Profiles p<i> (classid 500+i): DNS redirect, IPv6 reject, route via tun0; `port` changes p0's DNS port. */
function configOf(indices: number[], port = 5354): Config {
  const profiles: Record<string, unknown> = {};
  for (const i of indices)
    profiles[`p${i}`] = {
      classid: 500 + i,
      dns: { redirect: i === 0 ? port : 5354 },
      ipv6: 'reject',
      route: { via: 'tun0', table: 77, mark: 77 },
    };
  return parseConfig(JSON.stringify({ table, cgroupParent, profiles }), 'reconciler-test.json');
}

/** A one-shot diff with a backend of its own: what a fresh process would see. */
function freshDiff(config: Config) {
  const b = new NetlinkBackend(ns.path);
  try {
    return diff(config, b).plan;
  } finally {
    b.close();
  }
}

function genid(): number {
  const b = new NetlinkBackend(ns.path);
  try {
    return b.nftGenid();
  } finally {
    b.close();
  }
}

beforeAll(() => {
  ns = createNetns('ncrz');
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('link', 'set', 'tun0', 'up');
  ns.ip('link', 'set', 'tun0p', 'up');
  ns.ip('addr', 'add', '198.18.7.1/24', 'dev', 'tun0p');
});

afterAll(() => {
  try {
    if (ns) {
      // netcg's table goes with the namespace; the cgroups do not.
      ns.remove();
    }
  } finally {
    removeCgroupParent(cgroupParent);
  }
});

describe('Reconciler', () => {
  it('re-applies from memory while the generation is unchanged, sending nothing', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1, 2]);
      const first = r.apply(config);
      expect(first.changed).toBe(true);
      expect(r.lastRead).toBe('full');
      const g = genid();
      for (let i = 0; i < 3; i++) {
        const again = r.apply(config);
        expect(r.lastRead).toBe('cached');
        expect(again.changed).toBe(false);
        expect(again.plan.nft).toEqual([]);
        expect(again.plan.rtnl).toEqual([]);
      }
      expect(genid()).toBe(g); // no nf_tables commit at all
      expect(r.diff(config).plan.changes).toEqual([]);
      expect(freshDiff(config).changes).toEqual([]);

      // Adding a profile from memory: a handful of ops, and the kernel agrees afterwards.
      const grown = configOf([0, 1, 2, 3]);
      const add = r.apply(grown);
      expect(r.lastRead).toBe('cached');
      expect(add.plan.nft.length).toBeLessThanOrEqual(10);
      expect(genid()).toBe(g + 1);
      expect(freshDiff(grown).changes).toEqual([]);
      // ...and the memory was updated by that commit: the next one is cached again.
      expect(r.apply(grown).changed).toBe(false);
      expect(r.lastRead).toBe('cached');
    });
  });

  it("an out-of-band rule in netcg's table moves the generation: full read-back, rule removed", () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1]);
      r.apply(config);
      r.apply(config);
      expect(r.lastRead).toBe('cached');
      ns.nft('add', 'rule', 'inet', table, 'dns_p1', 'counter', 'accept');
      expect(freshDiff(config).changes.length).toBeGreaterThan(0);
      const repair = r.apply(config);
      expect(r.lastRead).toBe('full');
      expect(repair.summary).toEqual({ add: 0, change: 0, destroy: 1 });
      expect(freshDiff(config).changes).toEqual([]);
      expect(ns.nft('list', 'chain', 'inet', table, 'dns_p1')).not.toMatch(/accept/);
    });
  });

  it("any nf_tables commit at all (a foreign table) is noticed; nothing of netcg's changes", () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1]);
      r.apply(config);
      ns.nft('add', 'table', 'inet', 'foreignrz');
      try {
        const again = r.apply(config);
        expect(r.lastRead).toBe('full');
        expect(again.changed).toBe(false);
        expect(ns.nft('list', 'tables')).toMatch(/inet foreignrz/);
      } finally {
        ns.nft('delete', 'table', 'inet', 'foreignrz');
      }
    });
  });

  it('an out-of-band route deletion is repaired on the cached path (rtnetlink is always re-read)', () => {
    withReconciler(ns.path, (r) => {
      const config = configOf([0, 1]);
      r.apply(config);
      ns.ip('route', 'del', 'default', 'dev', 'tun0', 'table', '77', 'proto', '110');
      const repair = r.apply(config);
      expect(r.lastRead).toBe('cached');
      expect(repair.summary).toEqual({ add: 1, change: 0, destroy: 0 });
      expect(repair.plan.nft).toEqual([]);
      expect(ns.ip('route', 'show', 'table', '77')).toMatch(/default dev tun0 proto 110/);
      expect(freshDiff(config).changes).toEqual([]);
    });
  });

  it('a plan that must delete a rule (memory has no handles) falls back to a full read-back', () => {
    withReconciler(ns.path, (r) => {
      r.apply(configOf([0, 1]));
      const changed = configOf([0, 1], 5399); // p0's redirect rules change: old ones are deleted by handle
      const report = r.apply(changed);
      expect(r.lastRead).toBe('full');
      expect(report.plan.nft.some((op) => op.object === 'rule' && op.verb === 'delete')).toBe(true);
      expect(freshDiff(changed).changes).toEqual([]);
      expect(ns.nft('list', 'chain', 'inet', table, 'dns_p0')).toMatch(/redirect to :5399/);
    });
  });

  it('a random sequence of add/remove-profile applies ends exactly where a fresh diff sees no changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.subarray([0, 1, 2, 3, 4, 5, 6, 7], { minLength: 0 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (steps, disturb) => {
          withReconciler(ns.path, (r) => {
            for (const [i, profiles] of steps.entries()) {
              const config = configOf(profiles);
              r.apply(config);
              // Now and then someone else commits: the Reconciler must notice, not trust memory.
              if (disturb && i === 0) ns.nft('add', 'table', 'inet', 'bumprz');
              expect(freshDiff(config).changes).toEqual([]);
            }
            const last = configOf(steps[steps.length - 1]!);
            expect(r.apply(last).changed).toBe(false);
          });
          try {
            ns.nft('delete', 'table', 'inet', 'bumprz');
          } catch {
            /* not created in this run */
          }
        },
      ),
      { numRuns: 12, seed: 1203 },
    );
  });
});
