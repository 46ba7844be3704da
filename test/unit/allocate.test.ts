import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  AUTO_BASE,
  AUTO_SLOTS,
  AllocationError,
  allocate,
  allocationKey,
  candidate,
  isAutoNumber,
  parseConfig,
  withHostNumbers,
  type Config,
  type HostNumbers,
} from '../../src/config/index.js';

const NONE = { tables: new Set<number>(), marks: new Set<number>() };
const NO_HOST: HostNumbers = { tableInUse: () => false, marks: [] };

const settings = fc.record({
  via: fc.constantFrom('tun0', 'tun1', 'wg0', 'eth0', 'vpn-a', 'vpn-b'),
  copyLinkRoutes: fc.boolean(),
  failClosed: fc.boolean(),
  masquerade: fc.boolean(),
});
const keys = fc.uniqueArray(settings.map(allocationKey), { minLength: 1, maxLength: 12 });

/** Whether two keys' candidate sequences share a number (1 in 16.7M per pair and candidate). */
function collide(a: readonly string[]): boolean {
  const seen = new Set<number>();
  for (const k of a)
    for (let i = 0; i < 3; i++) {
      const n = candidate(k, i);
      if (seen.has(n)) return true;
      seen.add(n);
    }
  return false;
}

describe('allocate (the numbers netcg picks)', () => {
  it('gives every key a number in 0x6e000000..0x6effffff, table and mark alike', () => {
    fc.assert(
      fc.property(keys, (ks) => {
        const got = allocate(ks, NONE);
        expect(got.size).toBe(ks.length);
        for (const n of got.values()) {
          expect(n).toBeGreaterThanOrEqual(AUTO_BASE);
          expect(n).toBeLessThan(AUTO_BASE + AUTO_SLOTS);
          expect(isAutoNumber(n)).toBe(true);
        }
        expect(new Set(got.values()).size).toBe(ks.length);
      }),
    );
  });

  it('is stable: adding or removing other keys never renumbers one', () => {
    fc.assert(
      fc.property(keys, keys, (a, b) => {
        fc.pre(!collide([...a, ...b]));
        const alone = allocate(a, NONE);
        const together = allocate([...b, ...a], NONE);
        for (const k of a) expect(together.get(k)).toBe(alone.get(k));
        // and removing: what remains of `together` without `a` keeps b's numbers
        const bOnly = allocate(
          b.filter((k) => !a.includes(k)),
          NONE,
        );
        for (const [k, n] of bOnly) expect(together.get(k)).toBe(n);
      }),
    );
  });

  it('does not depend on the order the keys come in', () => {
    fc.assert(
      fc.property(
        keys.chain((ks) => fc.tuple(fc.constant(ks), fc.shuffledSubarray(ks, { minLength: ks.length }))),
        ([ks, shuffled]) => {
          expect(allocate(shuffled, NONE)).toEqual(allocate(ks, NONE));
        },
      ),
    );
  });

  it('never picks a table the host uses, nor a mark a foreign ip rule matches', () => {
    fc.assert(
      fc.property(keys, fc.integer({ min: 0, max: 2 }), (ks, busy) => {
        // The first `busy` candidates of every key are in use on the host.
        const used = new Set(ks.flatMap((k) => Array.from({ length: busy }, (_, i) => candidate(k, i))));
        const byRule = candidate(ks[0]!, busy);
        const host: HostNumbers = {
          tableInUse: (t) => used.has(t),
          marks: [{ mark: byRule, mask: 0xffffffff }],
        };
        const got = allocate(ks, NONE, host);
        for (const n of got.values()) {
          expect(used.has(n)).toBe(false);
          expect(n).not.toBe(byRule);
        }
      }),
    );
  });

  it('a foreign rule with a mask covers every mark it matches', () => {
    const k = allocationKey({ via: 'tun0', copyLinkRoutes: true, failClosed: true, masquerade: true });
    const first = candidate(k, 0);
    const host: HostNumbers = {
      tableInUse: () => false,
      marks: [{ mark: first & 0xff0000, mask: 0xff0000 }],
    };
    const n = allocate([k], NONE, host).get(k)!;
    expect((n & 0xff0000) >>> 0).not.toBe((first & 0xff0000) >>> 0);
  });

  it('never picks a number the config sets itself', () => {
    const k = allocationKey({ via: 'tun0', copyLinkRoutes: true, failClosed: true, masquerade: true });
    const first = candidate(k, 0);
    expect(allocate([k], { tables: new Set([first]), marks: new Set() }).get(k)).toBe(candidate(k, 1));
    expect(allocate([k], { tables: new Set(), marks: new Set([first]) }).get(k)).toBe(candidate(k, 1));
  });

  it('throws AllocationError when every candidate is in use', () => {
    expect(() => allocate(['x'], NONE, { tableInUse: () => true, marks: [] })).toThrow(AllocationError);
  });
});

describe('the loader picks numbers for routing profiles without classid, table or mark', () => {
  const load = (text: string): Config => parseConfig(text, 'netcg.yaml');

  it('gives both table and mark, the same number, marked as picked', () => {
    const c = load('profiles:\n  a: { match: cgroupv2, route: { via: tun0 } }\n');
    const r = c.profiles.a!.route!;
    expect(r.allocated).toBe(true);
    expect(r.mark).toBe(r.table);
    expect(r.table).toBe(
      candidate(allocationKey({ via: 'tun0', copyLinkRoutes: true, failClosed: true, masquerade: true }), 0),
    );
  });

  it('profiles with the same route settings share one number; other settings get another', () => {
    const c = load(
      'profiles:\n  a: { match: cgroupv2, route: { via: tun0 } }\n  b: { match: cgroupv2, route: { via: tun0 } }\n  c: { match: cgroupv2, route: { via: tun0, failClosed: false } }\n',
    );
    expect(c.profiles.a!.route!.table).toBe(c.profiles.b!.route!.table);
    expect(c.profiles.c!.route!.table).not.toBe(c.profiles.a!.route!.table);
  });

  it('adding and removing other profiles (with or without numbers) keeps a profile numbers', () => {
    const base = load('profiles:\n  a: { match: cgroupv2, route: { via: tun0 } }\n').profiles.a!.route!;
    const more = load(
      'profiles:\n  z: { classid: 7, route: { via: tun0 } }\n  b: { match: cgroupv2, route: { via: wg0 } }\n  a: { match: cgroupv2, route: { via: tun0 } }\n  c: { match: cgroupv2, route: { via: tun0, table: 100, mark: 100 } }\n',
    ).profiles.a!.route!;
    expect([more.table, more.mark]).toEqual([base.table, base.mark]);
  });

  it('a classid, a table or a mark means no picking', () => {
    const c = load(
      'profiles:\n  a: { classid: 5, route: { via: tun0 } }\n  b: { match: cgroupv2, route: { via: wg0, table: 100 } }\n  d: { match: cgroupv2, route: { via: wg1, mark: 0x200 } }\n',
    );
    expect(c.profiles.a!.route).toMatchObject({ table: 5, mark: 5 });
    expect(c.profiles.a!.route!.allocated).toBeUndefined();
    expect(c.profiles.b!.route).toMatchObject({ table: 100, mark: 100 });
    expect(c.profiles.d!.route).toMatchObject({ table: 0x200, mark: 0x200 });
  });

  it('withHostNumbers keeps the config object when nothing collides, and moves only the colliding key', () => {
    const c = load(
      'profiles:\n  a: { match: cgroupv2, route: { via: tun0 } }\n  b: { match: cgroupv2, route: { via: wg0 } }\n',
    );
    expect(withHostNumbers(c, NO_HOST)).toBe(c);
    const busy = c.profiles.a!.route!.table;
    const moved = withHostNumbers(c, { tableInUse: (t) => t === busy, marks: [] });
    expect(moved.profiles.a!.route!.table).not.toBe(busy);
    expect(moved.profiles.a!.route!.mark).toBe(moved.profiles.a!.route!.table);
    expect(moved.profiles.b).toBe(c.profiles.b);
  });
});
