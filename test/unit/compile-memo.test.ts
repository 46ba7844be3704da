// compile's memo (src/compile/table.ts): an unchanged profile, even from a freshly
// loaded config, comes out as the very same frozen objects; a changed one, or one
// whose config object the caller changed in place, never reuses stale objects; and
// a warm compile always equals a cold one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compile, compileSession } from '../../src/compile/index.js';
import { sameJson } from '../../src/compile/table.js';
import type { Config, ProfileConfig } from '../../src/config/index.js';
import { canonicalJson } from '../../src/plan/normalize.js';
import { config, FACTS } from './plan-fixtures.js';

const profile = (i: number, port = 5354): ProfileConfig => ({
  name: `p${i}`,
  classid: 100 + i,
  dns: { redirect: port },
  ipv6: 'reject',
  route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: false, masquerade: true },
});

/** A deep copy, as a config loaded again from the same file would be. */
const reload = (c: Config): Config => JSON.parse(JSON.stringify(c)) as Config;

/** A compile that cannot hit the memo: two unrelated compiles first push every entry out of both generations. */
function coldCompile(c: Config) {
  compile(config([profile(900)]), FACTS);
  compile(config([profile(901)]), FACTS);
  return compile(reload(c), FACTS);
}

describe('compile memo', () => {
  it('a reloaded, structurally equal config gives the same objects; a changed profile gets new ones', () => {
    const a = compile(config([profile(0), profile(1), profile(2)]), FACTS);
    const changed = config([profile(0), profile(1, 5399), profile(2)]);
    const b = compile(reload(changed), FACTS);
    const chain = (d: typeof a, name: string) => d.table.chains.find((c) => c.name === name)!;
    expect(chain(b, 'dns_p0')).toBe(chain(a, 'dns_p0'));
    expect(chain(b, 'route_p2')).toBe(chain(a, 'route_p2'));
    expect(chain(b, 'nat_output')).toBe(chain(a, 'nat_output'));
    expect(b.table.maps[0]!.elements[0]).toBe(a.table.maps[0]!.elements[0]);
    expect(chain(b, 'dns_p1')).not.toBe(chain(a, 'dns_p1'));
    expect(chain(b, 'dns_p1')).toEqual(chain(coldCompile(changed), 'dns_p1'));
    expect(chain(b, 'dns_p1')).not.toEqual(chain(a, 'dns_p1'));
    expect(Object.isFrozen(chain(b, 'dns_p0').rules[0]!.exprs)).toBe(true);
  });

  it('a config object changed in place after a compile is compiled afresh, not from the memo', () => {
    const c = config([profile(0), profile(1)]);
    const before = compile(c, FACTS);
    c.profiles.p1!.dns!.redirect = 6000;
    const after = compile(c, FACTS);
    expect(after.table.chains.find((x) => x.name === 'dns_p1')).not.toEqual(
      before.table.chains.find((x) => x.name === 'dns_p1'),
    );
    expect(after).toEqual(coldCompile(c));
    expect(after.table.chains.find((x) => x.name === 'dns_p0')).toBe(
      before.table.chains.find((x) => x.name === 'dns_p0'),
    );
  });

  it('one session compiles the same config again with the same result (cgroup2 IDs added)', () => {
    const c = config([{ ...profile(0), match: 'cgroupv2' }, profile(1)]);
    const s = compileSession();
    const facts = { ...FACTS, cgroups: { netCls: true, ids: {} as Record<string, bigint> } };
    const v2Elements = (d: ReturnType<typeof compile>) =>
      d.table.maps.filter((m) => m.name.endsWith('_v2')).flatMap((m) => m.elements);
    expect(v2Elements(s.compile(c, facts))).toEqual([]);
    facts.cgroups.ids = { p0: 77n };
    const second = s.compile(c, facts);
    expect(v2Elements(second)).toHaveLength(3); // DNS, IPv6 and route maps
    coldCompile(c);
    expect(second).toEqual(compile(reload(c), facts));
  });

  it('warm compiles equal cold ones, whatever was compiled before', () => {
    const profilesArb = fc
      .uniqueArray(
        fc.record({
          i: fc.integer({ min: 0, max: 7 }),
          port: fc.constantFrom(5353, 5354),
          ipv6: fc.boolean(),
          route: fc.boolean(),
          v2: fc.boolean(),
        }),
        { selector: (p) => p.i, maxLength: 6 },
      )
      .map((ps) =>
        ps.map(
          ({ i, port, ipv6, route, v2 }): ProfileConfig => ({
            name: `p${i}`,
            classid: 100 + i,
            dns: { redirect: port },
            ...(ipv6 ? { ipv6: 'reject' as const } : {}),
            ...(route
              ? { route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: false, masquerade: true } }
              : {}),
            ...(v2 ? { match: 'cgroupv2' as const } : {}),
          }),
        ),
      );
    fc.assert(
      fc.property(fc.array(profilesArb, { minLength: 1, maxLength: 4 }), (configs) => {
        const warm = configs.map((ps) => compile(config(ps), FACTS));
        expect(warm.at(-1)).toEqual(coldCompile(config(configs.at(-1)!)));
      }),
      { numRuns: 200 },
    );
  });

  it('sameJson(copy, live) is exactly "equal as JSON" (key order aside) for JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.boolean(), (a, b, same) => {
        const live = same ? (JSON.parse(JSON.stringify(a)) as unknown) : b;
        const copy = JSON.parse(JSON.stringify(a)) as unknown;
        expect(sameJson(copy, live)).toBe(canonicalJson(copy) === canonicalJson(live));
      }),
      { numRuns: 1000 },
    );
    // What JSON would not keep is never "the same".
    expect(sameJson({ a: '2020-01-01T00:00:00.000Z' }, { a: new Date('2020-01-01') })).toBe(false);
    expect(sameJson({}, { f: () => 1 })).toBe(false);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(true);
  });
});
