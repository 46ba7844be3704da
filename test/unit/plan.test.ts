import { describe, expect, it } from 'vitest';

import type { TableState } from '../../src/shared/model.js';
import type { NftOp } from '../../src/native/types.js';
import { counter, hostU32, matchDport, IPPROTO_TCP } from '../../src/nft/index.js';
import { isEmptyPlan, plan, splitRtnl, summarize } from '../../src/plan/plan.js';
import { applyPlan, desired, fullProfile, installed, seedProfiles } from './plan-fixtures.js';
import { rtnlShape, SimKernel, tableShape } from './plan-sim.js';
import type { Mutable } from '../helpers/mutable.js';

const kinds = (ops: NftOp[]) => ops.map((o) => `${o.verb} ${o.object}`);
const countKinds = (ops: NftOp[]) =>
  kinds(ops).reduce<Record<string, number>>((acc, k) => {
    acc[k] = (acc[k] ?? 0) + 1;
    return acc;
  }, {});

function chainOf<T extends TableState | Mutable<TableState>>(t: T, name: string): T['chains'][number] {
  const c = t.chains.find((x) => x.name === name);
  if (!c) throw new Error(`no chain ${name}`);
  return c;
}

describe('plan: from nothing', () => {
  it('creates the whole table, routes before the ip rules that use them', () => {
    const d = desired(seedProfiles);
    const p = plan({ ipRules: [], routes: [] }, d);
    expect(p.nft[0]).toEqual({ verb: 'add', object: 'table', family: 'inet', name: 'netcg' });
    expect(countKinds(p.nft)).toEqual({
      'add table': 1,
      'add set': 3,
      'add chain': 9,
      'add element': 3,
      'add rule': 11,
    });
    const firstRule = p.rtnl.findIndex((o) => o.kind === 'rule');
    expect(firstRule).toBeGreaterThan(0);
    expect(p.rtnl.slice(0, firstRule).every((o) => o.kind === 'route' && o.verb === 'add')).toBe(true);
    expect(summarize(p)).toEqual({ add: 1 + 3 + 9 + 3 + 11 + 2 + 6, change: 0, destroy: 0 });
  });
});

describe('plan: no churn', () => {
  it('identical state → empty plan', () => {
    const d = desired(seedProfiles);
    const p = plan(installed(d).current(), d);
    expect(p).toEqual({ nft: [], rtnl: [], changes: [] });
    expect(isEmptyPlan(p)).toBe(true);
  });

  it('ignores counter values, element order, fwmask spelled out, IPv6 spelling and reported defaults', () => {
    const d = desired(seedProfiles);
    const cur = installed(d).current();
    for (const c of cur.table!.chains) {
      for (const r of c.rules)
        r.exprs = r.exprs.map((e) =>
          e.type === 'counter' ? { type: 'counter', packets: 1234, bytes: 99999 } : e,
        );
      if (c.hook) c.hook = { ...c.hook, policy: 'accept' };
    }
    for (const m of cur.table!.maps) m.elements.reverse();
    // the kernel reports FRA_FWMASK 0xffffffff for `fwmark 0x2b` and the masquerade's flags as 0
    cur.ipRules = cur.ipRules.map((r) => ({ ...r, fwmask: 0xffffffff }));
    cur.table!.chains = cur.table!.chains.map((c) => ({
      ...c,
      rules: c.rules.map((r) => ({
        ...r,
        exprs: r.exprs.map((e) => (e.type === 'masq' ? { ...e, flags: 0 } : e)),
      })),
    }));
    cur.routes = cur.routes.map((r) =>
      r.family === 6 ? { ...r, dst: r.dst === '::/0' ? '0:0::/0' : '2001:DB8:1:0::/64' } : r,
    );
    expect(plan(cur, d).changes).toEqual([]);
    expect(plan(cur, d).rtnl).toEqual([]);
  });

  it('a mark 0 with a mask is not the same ip rule as no mark', () => {
    const d = desired(seedProfiles);
    const cur = installed(d).current();
    const want = {
      ...d,
      ipRules: [{ family: 4 as const, priority: 9000, table: 50, fwmark: 0, fwmask: 0xff, protocol: 110 }],
    };
    const have = {
      ...cur,
      ipRules: [{ family: 4 as const, priority: 9000, table: 50, fwmark: 0, protocol: 110 }],
    };
    expect(plan(have, want).rtnl.map((o) => o.verb)).toEqual(['add', 'del']);
    expect(plan({ ...cur, ipRules: want.ipRules }, want).rtnl).toEqual([]);
  });
});

describe('plan: minimal changes at scale', () => {
  const N = 10_000;
  const many = Array.from({ length: N }, (_, i) => fullProfile(i));
  const base = desired(many);
  // Built directly (handles assigned) rather than replayed: the simulator is not made for 40,000 rule lookups.
  const kernel = new SimKernel({ table: base.table, ipRules: base.ipRules, routes: base.routes });

  it('adding one profile to 10,000 is a handful of ops: 3 chains, 4 rules, 3 element ops', () => {
    const next = desired([...many, fullProfile(N)]);
    const p = plan(kernel.current(), next);
    expect(countKinds(p.nft)).toEqual({ 'add chain': 3, 'add rule': 4, 'add element': 3 });
    expect(
      p.nft.filter((o) => o.object === 'element').map((o) => (o as { elements: unknown[] }).elements.length),
    ).toEqual([1, 1, 1]);
    // chains exist before the elements that jump to them and the rules in them
    expect(kinds(p.nft)).toEqual([
      'add chain',
      'add chain',
      'add chain',
      'add element',
      'add element',
      'add element',
      'add rule',
      'add rule',
      'add rule',
      'add rule',
    ]);
    expect(p.rtnl).toEqual([]); // same VPN interface: shared mark, table, ip rule and routes
    expect(summarize(p)).toEqual({ add: 10, change: 0, destroy: 0 });
    const k = new SimKernel(kernel.current());
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(next.table));
  });

  it('removing one profile deletes its rules, its jumps, then its chains', () => {
    const next = desired(many.filter((p) => p.name !== 'p5000'));
    const p = plan(kernel.current(), next);
    expect(kinds(p.nft)).toEqual([
      'delete rule',
      'delete rule',
      'delete rule',
      'delete rule',
      'delete element',
      'delete element',
      'delete element',
      'delete chain',
      'delete chain',
      'delete chain',
    ]);
    const k = new SimKernel(kernel.current());
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(next.table));
    expect(plan(k.current(), next).nft).toEqual([]);
  });

  it('is deterministic', () => {
    const next = desired([...many.slice(1), fullProfile(N)]);
    expect(plan(kernel.current(), next)).toEqual(plan(kernel.current(), next));
  });
});

describe('plan: changes', () => {
  it("a changed DNS port replaces exactly that profile's two rules and the port's two dns.server rules", () => {
    const before = desired(seedProfiles);
    const k = installed(before);
    const after = desired([{ ...seedProfiles[0]!, dns: { redirect: 5399 } }, seedProfiles[1]!]);
    const p = plan(k.current(), after);
    expect(kinds(p.nft)).toEqual([
      'delete rule',
      'delete rule',
      'delete rule',
      'delete rule',
      'add rule',
      'add rule',
      'add rule',
      'add rule',
    ]);
    expect(
      p.nft.every(
        (o) => o.object === 'rule' && (o.chain === 'dns_unlocator' || o.chain === 'filter_dnsreply'),
      ),
    ).toBe(true);
    const handle = (chain: string, i: number) => chainOf(k.table!, chain).rules[i]!.handle;
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual([
      `- rule filter_dnsreply#${handle('filter_dnsreply', 0)}`,
      `- rule filter_dnsreply#${handle('filter_dnsreply', 1)}`,
      `- rule dns_unlocator#${handle('dns_unlocator', 0)}`,
      `- rule dns_unlocator#${handle('dns_unlocator', 1)}`,
      '+ rule filter_dnsreply[0]',
      '+ rule filter_dnsreply[1]',
      '+ rule dns_unlocator[0]',
      '+ rule dns_unlocator[1]',
    ]);
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(after.table));
  });

  it('moving a classid to another profile changes the map element in place ("~")', () => {
    const a = desired([fullProfile(1), fullProfile(2)]);
    const b = desired([fullProfile(1, { classid: 0x10002 }), fullProfile(2, { classid: 0x10001 })]);
    const k = installed(a);
    const p = plan(k.current(), b);
    expect(p.changes.filter((c) => c.kind === 'element').map((c) => c.action)).toEqual([
      '~',
      '~',
      '~',
      '~',
      '~',
      '~',
    ]);
    expect(countKinds(p.nft)).toEqual({ 'delete element': 3, 'add element': 3 });
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(b.table));
  });

  it('a base chain whose hook changed is re-created with its rules, after what jumps into it is gone', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const cur = k.current();
    chainOf(cur.table!, 'filter_output').hook = {
      type: 'filter',
      hook: 'output',
      priority: 10,
      policy: 'accept',
    };
    const p = plan(cur, d);
    expect(kinds(p.nft)).toEqual(['delete rule', 'delete chain', 'add chain', 'add rule']);
    expect(p.changes.map((c) => `${c.action} ${c.kind}`)).toEqual(['~ chain', '~ rule']);
  });

  it('a map whose type changed is re-created, with the rules that look it up and its elements', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const cur = k.current();
    cur.table!.maps[0]!.keyLen = 8;
    const sim = new SimKernel(cur);
    const p = plan(sim.current(), d);
    expect(kinds(p.nft)).toEqual(['delete rule', 'delete set', 'add set', 'add element', 'add rule']);
    applyPlan(sim, p);
    expect(tableShape(sim.table)).toBe(tableShape(d.table));
  });
});

describe('plan: out-of-band edits are shown and repaired', () => {
  it('a rule deleted at the end of a chain → exactly that rule re-added', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    k.nft([
      {
        verb: 'delete',
        object: 'rule',
        family: 'inet',
        table: 'netcg',
        chain: 'dns_unlocator',
        handle: chainOf(k.table!, 'dns_unlocator').rules[1]!.handle!,
      },
    ]);
    const p = plan(k.current(), d);
    expect(p.nft).toEqual([
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'netcg',
        chain: 'dns_unlocator',
        exprs: chainOf(d.table, 'dns_unlocator').rules[1]!.exprs,
      },
    ]);
    expect(p.changes).toEqual([
      {
        action: '+',
        kind: 'rule',
        id: 'dns_unlocator[1]',
        after: { chain: 'dns_unlocator', text: 'tcp dport 53 counter redirect to :5354', position: 1 },
      },
    ]);
    applyPlan(k, p);
    expect(isEmptyPlan(plan(k.current(), d))).toBe(true);
  });

  it('a rule deleted in the middle → it and the rules after it re-added in order (rules can only be appended)', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const dns = chainOf(k.table!, 'dns_unlocator');
    k.nft([
      {
        verb: 'delete',
        object: 'rule',
        family: 'inet',
        table: 'netcg',
        chain: 'dns_unlocator',
        handle: dns.rules[0]!.handle!,
      },
    ]);
    const p = plan(k.current(), d);
    expect(kinds(p.nft)).toEqual(['delete rule', 'add rule', 'add rule']);
    expect(p.changes.map((c) => `${c.action} ${c.id}`)).toEqual(['+ dns_unlocator[0]', '~ dns_unlocator[1]']);
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(d.table));
  });

  it("a foreign rule, element and chain inside netcg's table are removed", () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    k.nft([
      { verb: 'add', object: 'chain', family: 'inet', table: 'netcg', name: 'intruder' },
      { verb: 'add', object: 'rule', family: 'inet', table: 'netcg', chain: 'intruder', exprs: [counter()] },
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'netcg',
        chain: 'dns_unlocator',
        exprs: [...matchDport(IPPROTO_TCP, 853), counter()],
      },
      {
        verb: 'add',
        object: 'element',
        family: 'inet',
        table: 'netcg',
        set: 'dns_dispatch',
        elements: [{ key: hostU32(999), verdict: { code: 'jump', chain: 'intruder' } }],
      },
    ]);
    const p = plan(k.current(), d);
    expect(kinds(p.nft)).toEqual(['delete rule', 'delete rule', 'delete element', 'delete chain']);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.id.replace(/#\d+/, '#N')}`).sort()).toEqual([
      '- chain intruder',
      '- element dns_dispatch[999]',
      '- rule dns_unlocator#N',
      '- rule intruder#N',
    ]);
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(d.table));
  });

  it('a removed route is re-added, a foreign-looking netcg ip rule removed after the others', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const gone = k.routes.find((r) => r.family === 4 && r.dst === '198.18.0.0/24')!;
    k.rtnl({ verb: 'del', kind: 'route', route: gone });
    k.rtnl({
      verb: 'add',
      kind: 'rule',
      rule: { family: 4, priority: 10000, fwmark: 0x99, table: 43, protocol: 110 },
    });
    const p = plan(k.current(), d);
    expect(p.rtnl).toEqual([
      { verb: 'add', kind: 'route', route: gone },
      {
        verb: 'del',
        kind: 'rule',
        rule: { family: 4, priority: 10000, fwmark: 0x99, table: 43, protocol: 110 },
      },
    ]);
    expect(splitRtnl(p.rtnl)).toEqual({ before: [p.rtnl[0]], after: [p.rtnl[1]] });
    applyPlan(k, p);
    expect(rtnlShape(k)).toBe(rtnlShape(d));
  });

  it('a route whose device changed is a "~" change: old deleted, new added', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const cur = k.current();
    const r = cur.routes.find((x) => x.family === 4 && x.dst === '198.18.0.0/24')!;
    r.dev = 'eth9';
    const p = plan(cur, d);
    expect(p.changes).toHaveLength(1);
    expect(p.changes[0]).toMatchObject({
      action: '~',
      kind: 'route',
      before: { dev: 'eth9' },
      after: { dev: 'lan0' },
    });
    expect(p.rtnl.map((o) => `${o.verb} ${o.kind}`)).toEqual(['del route', 'add route']);
  });

  it('a missing table is created whole; the rtnl objects already there are kept', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    k.nft([{ verb: 'delete', object: 'table', family: 'inet', name: 'netcg' }]);
    const p = plan(k.current(), d);
    expect(p.rtnl).toEqual([]);
    expect(p.nft[0]).toMatchObject({ verb: 'add', object: 'table' });
    applyPlan(k, p);
    expect(tableShape(k.table)).toBe(tableShape(d.table));
  });

  it('removing every profile leaves an empty table and no ip rules or routes, rules before routes', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const empty = desired([]);
    const p = plan(k.current(), empty);
    const lastRule = p.rtnl.map((o) => o.kind).lastIndexOf('rule');
    const firstRoute = p.rtnl.findIndex((o) => o.kind === 'route');
    expect(lastRule).toBeLessThan(firstRoute);
    expect(p.rtnl.every((o) => o.verb === 'del')).toBe(true);
    applyPlan(k, p);
    expect(k.table).toEqual({ family: 'inet', name: 'netcg', maps: [], chains: [] });
    expect(k.ipRules).toEqual([]);
    expect(k.routes).toEqual([]);
  });
});

describe('the simulator is strict (so the property tests mean something)', () => {
  it('refuses chains deleted before what references them, and routes removed before their ip rules', () => {
    const k = installed(desired(seedProfiles));
    const p = plan(k.current(), desired([]));
    const chainsFirst = [
      ...p.nft.filter((o) => o.object === 'chain'),
      ...p.nft.filter((o) => o.object !== 'chain'),
    ];
    expect(() => new SimKernel(k.current()).nft(chainsFirst)).toThrow(/EBUSY/);
    const routesFirst = {
      ...p,
      rtnl: [...p.rtnl.filter((o) => o.kind === 'route'), ...p.rtnl.filter((o) => o.kind === 'rule')],
    };
    expect(() => applyPlan(new SimKernel(k.current()), routesFirst)).toThrow(/without routes/);
    applyPlan(new SimKernel(k.current()), p);
  });
});
