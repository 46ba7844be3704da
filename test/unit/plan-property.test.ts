// Property: for any two valid configs A and B, running plan(A → B) on a kernel
// holding A yields exactly B (the simulator enforces the kernel's reference rules
// message by message, and that no ip rule ever points at a table without routes),
// and planning again yields nothing. Also from a kernel that was edited out of band.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ProfileConfig } from '../../src/config/index.js';
import { counter } from '../../src/nft/index.js';
import { isEmptyPlan, plan } from '../../src/plan/plan.js';
import { applyPlan, desired, installed } from './plan-fixtures.js';
import { rtnlShape, type SimKernel, tableShape } from './plan-sim.js';

const VIAS = [
  { via: 'tun0', mark: 43, table: 43 },
  { via: 'tun1', mark: 44, table: 1000 },
  { via: 'wg0', mark: 0x100, table: 300 },
] as const;

const profileArb = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
  classid: fc.integer({ min: 1, max: 9 }),
  dns: fc.option(fc.constantFrom(5353, 5354, 5399), { nil: undefined }),
  ipv6: fc.boolean(),
  via: fc.option(fc.integer({ min: 0, max: VIAS.length - 1 }), { nil: undefined }),
  copyLinkRoutes: fc.boolean(),
  masquerade: fc.boolean(),
});

/** A valid profile list: unique names and classids; profiles sharing a `via` share its mark and table. */
const profilesArb = fc.uniqueArray(profileArb, { selector: (p) => p.name, maxLength: 6 }).map((raw) => {
  const seen = new Set<number>();
  return raw
    .filter((p) => !seen.has(p.classid) && (seen.add(p.classid), true))
    .map((p): ProfileConfig => {
      const v = p.via === undefined ? undefined : VIAS[p.via]!;
      return {
        name: p.name,
        classid: p.classid,
        ...(p.dns !== undefined ? { dns: { redirect: p.dns } } : {}),
        ...(p.ipv6 ? { ipv6: 'reject' as const } : {}),
        ...(v
          ? {
              route: {
                via: v.via,
                mark: v.mark,
                table: v.table,
                copyLinkRoutes: p.copyLinkRoutes,
                masquerade: p.masquerade,
              },
            }
          : {}),
      };
    });
});

function converge(k: SimKernel, want: ReturnType<typeof desired>): void {
  const p = plan(k.current(), want);
  applyPlan(k, p);
  expect(tableShape(k.table)).toBe(tableShape(want.table));
  expect(rtnlShape(k)).toBe(rtnlShape(want));
  expect(isEmptyPlan(plan(k.current(), want))).toBe(true);
}

describe('plan: property', () => {
  it('plan(A → B) applied to A gives B, then nothing to do', () => {
    fc.assert(
      fc.property(profilesArb, profilesArb, (a, b) => {
        converge(installed(desired(a)), desired(b));
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(profilesArb, profilesArb, (a, b) => {
        const cur = installed(desired(a)).current();
        expect(plan(cur, desired(b))).toEqual(plan(cur, desired(b)));
      }),
      { numRuns: 100 },
    );
  });

  it('repairs random out-of-band edits of A while moving to B', () => {
    const editArb = fc.array(
      fc.record({
        kind: fc.constantFrom(
          'delete rule',
          'foreign rule',
          'foreign chain',
          'delete element',
          'delete route',
          'delete ip rule',
        ),
        pick: fc.nat(),
      }),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(profilesArb, profilesArb, editArb, (a, b, edits) => {
        const k = installed(desired(a));
        for (const { kind, pick } of edits) {
          const t = k.table!;
          const chains = t.chains.filter((c) => c.rules.length > 0);
          if (kind === 'delete rule' && chains.length > 0) {
            const c = chains[pick % chains.length]!;
            k.nft([
              {
                verb: 'delete',
                object: 'rule',
                family: 'inet',
                table: t.name,
                chain: c.name,
                handle: c.rules[pick % c.rules.length]!.handle!,
              },
            ]);
          } else if (kind === 'foreign rule' && t.chains.length > 0) {
            k.nft([
              {
                verb: 'add',
                object: 'rule',
                family: 'inet',
                table: t.name,
                chain: t.chains[pick % t.chains.length]!.name,
                exprs: [counter()],
              },
            ]);
          } else if (kind === 'foreign chain' && !t.chains.some((c) => c.name === `x${pick}`)) {
            k.nft([{ verb: 'add', object: 'chain', family: 'inet', table: t.name, name: `x${pick}` }]);
          } else if (kind === 'delete element') {
            const m = t.maps.filter((x) => x.elements.length > 0)[pick % Math.max(1, t.maps.length)];
            if (m)
              k.nft([
                {
                  verb: 'delete',
                  object: 'element',
                  family: 'inet',
                  table: t.name,
                  set: m.name,
                  elements: [m.elements[0]!],
                },
              ]);
          } else if (kind === 'delete route' && k.routes.length > 0) {
            // Out-of-band edits need not keep netcg's invariants: a rule may be left without routes.
            k.rtnl({ verb: 'del', kind: 'route', route: k.routes[pick % k.routes.length]! });
          } else if (kind === 'delete ip rule' && k.ipRules.length > 0) {
            k.rtnl({ verb: 'del', kind: 'rule', rule: k.ipRules[pick % k.ipRules.length]! });
          }
        }
        const want = desired(b);
        const p = plan(k.current(), want);
        for (const op of p.rtnl) k.rtnl(op);
        k.nft(p.nft);
        expect(tableShape(k.table)).toBe(tableShape(want.table));
        expect(rtnlShape(k)).toBe(rtnlShape(want));
        expect(isEmptyPlan(plan(k.current(), want))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
