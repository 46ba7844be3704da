// The planner's identity fast path (src/plan/identity.ts): a plan made from states
// that share objects (compile's memo, the Reconciler's remembered table) must be
// exactly the plan made from deep copies of the same states, where nothing is
// shared and everything is compared by content.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import type { ProfileConfig } from '../../src/config/index.js';
import type { TableState } from '../../src/shared/model.js';
import { splitByIdentity } from '../../src/plan/identity.js';
import { plan } from '../../src/plan/plan.js';
import { applyPlan, config, FACTS, installed } from './plan-fixtures.js';

const VIAS = [
  { via: 'tun0', mark: 43, table: 43 },
  { via: 'wg0', mark: 0x100, table: 300 },
] as const;

const profileArb = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
  classid: fc.integer({ min: 1, max: 12 }),
  dns: fc.option(fc.constantFrom(5353, 5354), { nil: undefined }),
  ipv6: fc.boolean(),
  via: fc.option(fc.integer({ min: 0, max: VIAS.length - 1 }), { nil: undefined }),
  v2: fc.boolean(),
});

const profilesArb = fc.uniqueArray(profileArb, { selector: (p) => p.name, maxLength: 8 }).map((raw) => {
  const seen = new Set<number>();
  return raw
    .filter((p) => !seen.has(p.classid) && (seen.add(p.classid), true))
    .map((p): ProfileConfig => {
      const v = p.via === undefined ? undefined : VIAS[p.via]!;
      return {
        name: p.name,
        classid: p.classid,
        ...(p.v2 ? { match: 'cgroupv2' as const } : {}),
        ...(p.dns !== undefined ? { dns: { redirect: p.dns } } : {}),
        ...(p.ipv6 ? { ipv6: 'reject' as const } : {}),
        ...(v
          ? { route: { via: v.via, mark: v.mark, table: v.table, copyLinkRoutes: false, masquerade: true } }
          : {}),
      };
    });
});

/** Compiles with cgroup v2 available; IDs for the v2 profiles derived from `idBase` (a changed base = re-created cgroups). */
function compileWith(profiles: ProfileConfig[], idBase: number) {
  const ids = Object.fromEntries(profiles.map((p, i) => [p.name, BigInt(idBase + i)]));
  return compile(config(profiles), { ...FACTS, cgroups: { netCls: true, ids } });
}

/** A deep copy in which no object is shared with the original (Buffers copied as Buffers). */
function deepCopy<T>(value: T): T {
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepCopy(v)])) as T;
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  for (const v of Object.values(value as object)) deepFreeze(v);
  return Object.freeze(value);
}

/** `t` with the chains and elements picked by `keep` left as the original objects and the rest deep-copied. */
function partlyShared(t: TableState, keep: (i: number) => boolean): TableState {
  let i = 0;
  return {
    ...t,
    maps: t.maps.map((m) => ({ ...m, elements: m.elements.map((e) => (keep(i++) ? e : deepCopy(e))) })),
    chains: t.chains.map((c) => (keep(i++) ? c : deepCopy(c))),
  };
}

describe('plan: identity fast path', () => {
  it('planning from the remembered desired state equals planning from deep copies', () => {
    fc.assert(
      fc.property(profilesArb, profilesArb, fc.nat(3), fc.nat(3), (a, b, idA, idB) => {
        const before = compileWith(a, 1000 * idA);
        // Compiled second, so every unchanged profile's objects are shared with `before`.
        const after = compileWith(b, 1000 * idB);
        const current = { table: before.table, ipRules: before.ipRules, routes: before.routes };
        expect(plan(current, after)).toEqual(plan(deepCopy(current), deepCopy(after)));
      }),
      { numRuns: 400 },
    );
  });

  it('with any mix of shared and copied objects, and from a kernel read-back, the plan is the cold one', () => {
    fc.assert(
      fc.property(
        profilesArb,
        profilesArb,
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        (a, b, mask) => {
          const before = compileWith(a, 1000);
          const after = compileWith(b, 1000);
          const mixed = {
            table: partlyShared(before.table, (i) => mask[i % 64]!),
            ipRules: before.ipRules,
            routes: before.routes,
          };
          expect(plan(mixed, after)).toEqual(plan(deepCopy(mixed), deepCopy(after)));
          // From the simulated kernel (handles, nothing shared) moving to a state that shares with itself.
          const k = installed(before);
          const fromKernel = plan(k.current(), after);
          expect(fromKernel).toEqual(plan(deepCopy(k.current()), deepCopy(after)));
          applyPlan(k, fromKernel);
          expect(plan(k.current(), after).nft).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('re-created chains and maps: shared rules and elements that reference them are re-planned as cold', () => {
    fc.assert(
      fc.property(
        profilesArb,
        fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (a, chainMask, mapMask) => {
          const k = installed(compileWith(a, 1000));
          // Frozen, as compile's shared objects are (only those are matched by identity past a common prefix/suffix).
          const have = deepFreeze(k.current().table!);
          // The desired table shares every object with the read-back except the chains and
          // maps whose attributes change (so they are deleted and re-created): the base
          // chains' rules look the maps up, the maps' elements jump to the profile chains.
          const want: TableState = {
            ...have,
            maps: have.maps.map((m, i) => (mapMask[i % 8] ? { ...m, flags: m.flags ^ 0x1000 } : m)),
            chains: have.chains.map((c, i) =>
              chainMask[i % 32]
                ? {
                    ...c,
                    hook: c.hook
                      ? { ...c.hook, priority: c.hook.priority + 1 }
                      : { type: 'filter', hook: 'input', priority: 7, policy: 'accept' },
                  }
                : c,
            ),
          };
          const current = { table: have, ipRules: [], routes: [] };
          const desired = { table: want, ipRules: [], routes: [], cgroups: [] };
          expect(plan(current, desired)).toEqual(plan(deepCopy(current), deepCopy(desired)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an unchanged config re-planned against its own compile output is empty without comparing anything', () => {
    const profiles = Array.from(
      { length: 50 },
      (_, i): ProfileConfig => ({ name: `p${i}`, classid: 100 + i, dns: { redirect: 5354 }, ipv6: 'reject' }),
    );
    const d = compileWith(profiles, 1);
    const again = compileWith(
      profiles.map((p) => ({ ...p, dns: { ...p.dns! } })),
      1,
    );
    // Structurally equal configs from another load: compile hands out the same objects.
    expect(again.table.chains.slice(-3)).toEqual(d.table.chains.slice(-3));
    expect(again.table.chains.at(-1)).toBe(d.table.chains.at(-1));
    const p = plan({ table: d.table, ipRules: d.ipRules, routes: d.routes }, again);
    expect(p.nft).toEqual([]);
    expect(p.changes).toEqual([]);
  });
});

describe('splitByIdentity', () => {
  it('partitions into have-only, want-only and shared, each in order, like a Set-based oracle', () => {
    const pool = Array.from({ length: 12 }, (_, i) => Object.freeze({ i }));
    const listArb = fc.shuffledSubarray(pool).map((l) => l.slice());
    fc.assert(
      fc.property(listArb, listArb, fc.boolean(), (have, wantRaw, sortWant) => {
        // Often the same order on both sides (a shared prefix/suffix), sometimes not.
        const want = sortWant ? [...wantRaw].sort((x, y) => x.i - y.i) : wantRaw;
        const s = splitByIdentity(have, want);
        const inWant = new Set(want);
        const inHave = new Set(have);
        expect(s.haveOnly).toEqual(
          have.flatMap((item, index) => (inWant.has(item) ? [] : [{ item, index }])),
        );
        expect(s.wantOnly).toEqual(
          want.flatMap((item, index) => (inHave.has(item) ? [] : [{ item, index }])),
        );
        const shared: Array<{ item: object; haveIndex: number; wantIndex: number }> = [];
        s.eachShared((x) => shared.push(x));
        expect(shared).toEqual(
          have.flatMap((item, haveIndex) =>
            inWant.has(item) ? [{ item, haveIndex, wantIndex: want.indexOf(item) }] : [],
          ),
        );
        for (const x of shared) {
          expect(have[x.haveIndex]).toBe(x.item);
          expect(want[x.wantIndex]).toBe(x.item);
        }
        expect(s.same).toBe(s.haveOnly.length === 0 && s.wantOnly.length === 0);
      }),
      { numRuns: 500 },
    );
  });

  it('matches an object that is not frozen only within the common prefix and suffix (else it is compared by content)', () => {
    const [a, b, c, d] = [{ n: 'a' }, { n: 'b' }, Object.freeze({ n: 'c' }), { n: 'd' }];
    const s = splitByIdentity([a, b, c, d], [a, c, b, d]);
    // a and d: prefix and suffix; c: frozen, found in the middle; b: not frozen, so on both sides as "only".
    expect(s.haveOnly).toEqual([{ item: b, index: 1 }]);
    expect(s.wantOnly).toEqual([{ item: b, index: 2 }]);
    const shared: unknown[] = [];
    s.eachShared((x) => shared.push(x.item));
    expect(shared).toEqual([a, c, d]);
  });
});
