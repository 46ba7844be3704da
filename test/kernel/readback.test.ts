// The "no churn" proof against the real kernel: what netcg sends, read back and
// normalised, plans to nothing; out-of-band edits show up as exactly the objects
// touched, and applying the plan's nf_tables ops in one batch repairs them.
// Everything happens in a throwaway namespace (veth tun0/tun1/lan0 links).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkBackend, replaceTableOps } from '../../src/backends/netlink.js';
import { compile } from '../../src/compile/index.js';
import type { ProfileConfig } from '../../src/config/index.js';
import type { DesiredState } from '../../src/shared/model.js';
import { openHandle, type NetlinkHandle } from '../../src/native/index.js';
import { formatPlan } from '../../src/plan/format.js';
import { isEmptyPlan, plan, splitRtnl, type CurrentState, type Plan } from '../../src/plan/plan.js';
import { tableFromDump } from '../../src/state/from-dump.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const TABLE = uniqueName('h5rb');

const PROFILES: ProfileConfig[] = [
  { name: 'unlocator', classid: 42, dns: { redirect: 5354 }, ipv6: 'reject' },
  {
    name: 'vpn',
    classid: 43,
    route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: true, masquerade: true },
  },
  // A routing table id >= 256 travels in FRA_TABLE/RTA_TABLE, not in the header's u8.
  {
    name: 'far',
    classid: 0x00100001,
    dns: { redirect: 5355 },
    route: { via: 'tun1', mark: 0x1000, table: 1000, copyLinkRoutes: false, masquerade: false },
  },
];

describe("read-back of netcg's objects from the kernel", () => {
  let ns: Netns;
  let h: NetlinkHandle;
  let backend: NetlinkBackend;

  const desiredOf = (profiles: ProfileConfig[]): DesiredState =>
    compile(
      {
        file: 'readback',
        table: TABLE,
        cgroupParent: 'netcg',
        ipRulePriority: 10000,
        profiles: Object.fromEntries(profiles.map((p) => [p.name, p])),
      },
      backend.hostFacts(),
    );

  const readCurrent = (): CurrentState & { genid: number } => {
    const dump = h.nftDump({ family: 'inet', table: TABLE });
    const owned = backend.readOwned(TABLE);
    const table = tableFromDump(dump, TABLE);
    return { ...(table ? { table } : {}), ipRules: owned.ipRules, routes: owned.routes, genid: dump.genid };
  };

  /** Executes a plan as apply will: rtnl additions, the nft batch (genid-guarded), rtnl deletions. */
  const execute = (p: Plan, genid: number) => {
    const { before, after } = splitRtnl(p.rtnl);
    for (const op of before) backend.rtnl(op);
    if (p.nft.length > 0) h.nftCommit(p.nft, { genid });
    for (const op of after) backend.rtnl(op);
  };

  /** The plan, with its text in the failure message so a churning attribute is visible. */
  const planOf = (want: DesiredState) => {
    const cur = readCurrent();
    const p = plan(cur, want);
    return { p, genid: cur.genid, text: formatPlan(p, { color: false }) };
  };

  beforeAll(() => {
    ns = createNetns('h5rb');
    // veth pairs (this kernel has no dummy driver); the peers only need to exist and be up.
    for (const dev of ['tun0', 'tun1', 'lan0']) {
      ns.ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
      ns.ip('link', 'set', dev, 'up');
      ns.ip('link', 'set', `${dev}p`, 'up');
    }
    ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'lan0');
    ns.ip('-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'lan0', 'nodad');
    h = openHandle(ns.path);
    backend = new NetlinkBackend(ns.path);
  });

  afterAll(() => {
    try {
      h?.close();
      backend?.close();
    } finally {
      ns?.remove();
    }
  });

  it('installs the compiled state: the table through replaceTableOps, rtnl through the plan from nothing', () => {
    const want = desiredOf(PROFILES);
    expect(want.routes.some((r) => r.table === 1000)).toBe(true);
    expect(want.routes.some((r) => r.family === 6 && r.dst === '2001:db8:1::/64')).toBe(true);
    h.nftCommit(replaceTableOps(want.table));
    const fromNothing = plan({ ipRules: [], routes: [] }, want);
    for (const op of fromNothing.rtnl) backend.rtnl(op);
    expect(ns.nft('list', 'table', 'inet', TABLE)).toContain('meta cgroup vmap @dns_dispatch');
  });

  it("reads back into the same shape compile produces, in the kernel's order, with handles", () => {
    const want = desiredOf(PROFILES);
    const cur = readCurrent();
    expect(cur.table?.maps.map((m) => m.name)).toEqual(want.table.maps.map((m) => m.name));
    expect(cur.table?.chains.map((c) => c.name)).toEqual(want.table.chains.map((c) => c.name));
    expect(
      cur.table?.chains.flatMap((c) => c.rules).every((r) => typeof r.handle === 'number' && r.handle > 0),
    ).toBe(true);
    expect(cur.table?.maps.find((m) => m.name === 'dns_dispatch')?.elements).toHaveLength(2);
  });

  it('plans nothing for what it just installed (no churn), nft and rtnl alike', () => {
    const { p, text } = planOf(desiredOf(PROFILES));
    expect(text).toBe('No changes.\n');
    expect(p).toEqual({ nft: [], rtnl: [], changes: [] });
  });

  it('still plans nothing once the counters have counted', () => {
    // route_output's rule counts every packet leaving a local socket, before the map lookup.
    ns.run('bash', ['-c', 'for i in 1 2 3; do echo x > /dev/udp/127.0.0.1/9; done']);
    const cur = readCurrent();
    const counted = cur
      .table!.chains.find((c) => c.name === 'route_output')!
      .rules[0]!.exprs.find((e) => e.type === 'counter');
    expect(counted).toMatchObject({ type: 'counter' });
    expect((counted as { packets: number }).packets).toBeGreaterThanOrEqual(3);
    expect(isEmptyPlan(plan(cur, desiredOf(PROFILES)))).toBe(true);
  });

  it('a rule deleted by hand → the plan re-adds exactly that rule; applied in one batch, the next plan is empty', () => {
    const want = desiredOf(PROFILES);
    const dns = readCurrent().table!.chains.find((c) => c.name === 'dns_unlocator')!;
    expect(dns.rules).toHaveLength(2);
    ns.nft('delete', 'rule', 'inet', TABLE, 'dns_unlocator', 'handle', String(dns.rules[1]!.handle));

    const { p, genid, text } = planOf(want);
    expect(text).toBe(
      '  + rule dns_unlocator: tcp dport 53 counter redirect to :5354\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n',
    );
    expect(p.nft).toEqual([
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: TABLE,
        chain: 'dns_unlocator',
        exprs: want.table.chains.find((c) => c.name === 'dns_unlocator')!.rules[1]!.exprs,
      },
    ]);
    expect(p.rtnl).toEqual([]);
    execute(p, genid);
    expect(planOf(want).text).toBe('No changes.\n');
  });

  it("a foreign rule and chain inside netcg's table and a removed route are shown and repaired", () => {
    const want = desiredOf(PROFILES);
    ns.nft('add', 'chain', 'inet', TABLE, 'intruder');
    ns.nft('add', 'rule', 'inet', TABLE, 'route_vpn', 'tcp', 'dport', '853', 'counter');
    ns.ip('route', 'del', '198.18.0.0/24', 'table', '43');
    const { p, genid, text } = planOf(want);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.id.replace(/#\d+/, '#N')}`)).toEqual([
      '- chain intruder',
      '- rule route_vpn#N',
      '+ route ipv4 198.18.0.0/24 table 43',
    ]);
    // The foreign rule in nft's words, the route as `ip route` prints it.
    expect(text).toMatch(/^ {2}- rule route_vpn: tcp dport 853 counter # handle \d+$/m);
    expect(text).toMatch(
      /^ {2}\+ route 198\.18\.0\.0\/24 table 43: 198\.18\.0\.0\/24 dev \S+ proto 110 scope link$/m,
    );
    execute(p, genid);
    expect(planOf(want).text).toBe('No changes.\n');
  });

  it('adding a profile plans only its objects; removing one only deletes its objects; both converge', () => {
    const more = [
      ...PROFILES,
      {
        name: 'late',
        classid: 77,
        dns: { redirect: 5356 },
        ipv6: 'reject' as const,
        route: PROFILES[1]!.route!,
      },
    ];
    const add = planOf(desiredOf(more));
    expect(add.p.changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual([
      '+ chain dns_late',
      '+ chain ipv6_late',
      '+ chain route_late',
      // Its redirect port's dns.server rules (UDP, TCP).
      '+ rule filter_dnsreply[4]',
      '+ rule filter_dnsreply[5]',
      '+ rule dns_late[0]',
      '+ rule dns_late[1]',
      '+ rule ipv6_late[0]',
      '+ rule route_late[0]',
      '+ element dns_dispatch[77]',
      '+ element ipv6_dispatch[77]',
      '+ element route_dispatch[77]',
    ]);
    expect(add.p.nft).toHaveLength(12);
    execute(add.p, add.genid);
    expect(planOf(desiredOf(more)).text).toBe('No changes.\n');

    const fewer = PROFILES.filter((p) => p.name !== 'far');
    const del = planOf(desiredOf(fewer));
    // Its table's default routes and fail-closed unreachable routes (failClosed defaults to true), both families.
    expect(del.p.rtnl.map((o) => `${o.verb} ${o.kind}`)).toEqual([
      'del rule',
      'del rule',
      'del route',
      'del route',
      'del route',
      'del route',
    ]);
    execute(del.p, del.genid);
    expect(planOf(desiredOf(fewer)).text).toBe('No changes.\n');
    expect(ns.ip('rule', 'show')).not.toContain('lookup 1000');
  });

  it('a base chain with another priority and a map with other attributes are re-created in the same batch', () => {
    const base = desiredOf(PROFILES);
    const reset = planOf(base); // the previous test left a profile out
    execute(reset.p, reset.genid);
    expect(planOf(base).text).toBe('No changes.\n');
    const want: DesiredState = {
      ...base,
      table: {
        ...base.table,
        // Neither can be changed in place: the plan deletes and re-adds them, and what references them.
        maps: base.table.maps.map((m) => (m.name === 'ipv6_dispatch' ? { ...m, userdata: undefined } : m)),
        chains: base.table.chains.map((c) =>
          c.name === 'filter_output' ? { ...c, hook: { ...c.hook!, priority: 10 } } : c,
        ),
      },
    };
    const { p, genid } = planOf(want);
    expect(p.changes.map((c) => `${c.action} ${c.kind} ${c.id}`)).toEqual([
      '~ map ipv6_dispatch',
      '~ chain filter_output',
      '~ rule filter_output[0]',
      '+ element ipv6_dispatch[42]',
    ]);
    execute(p, genid);
    expect(ns.nft('list', 'chain', 'inet', TABLE, 'filter_output')).toMatch(/priority filter \+ 10/);
    expect(planOf(want).text).toBe('No changes.\n');
    const back = planOf(base);
    execute(back.p, back.genid);
    expect(planOf(base).text).toBe('No changes.\n');
  });

  it('a missing table is re-created whole by the plan', () => {
    const want = desiredOf(PROFILES);
    ns.nft('delete', 'table', 'inet', TABLE);
    const { p, genid } = planOf(want);
    expect(p.nft[0]).toEqual({ verb: 'add', object: 'table', family: 'inet', name: TABLE });
    execute(p, genid);
    expect(planOf(want).text).toBe('No changes.\n');
  });
});

describe('read-back at scale: 10,000 profiles', () => {
  it('plans nothing after installing them, and adding one profile is 10 nft ops', () => {
    const ns = createNetns('h5big');
    const h = openHandle(ns.path);
    try {
      const table = uniqueName('h5big');
      ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
      const profile = (i: number): ProfileConfig => ({
        name: `p${i}`,
        classid: 0x10000 + i,
        dns: { redirect: 5354 },
        ipv6: 'reject',
        route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: false, masquerade: true },
      });
      const many = Array.from({ length: 10_000 }, (_, i) => profile(i));
      const desiredOf = (profiles: ProfileConfig[]) =>
        compile(
          {
            file: 'scale',
            table,
            cgroupParent: 'netcg',
            ipRulePriority: 10000,
            profiles: Object.fromEntries(profiles.map((p) => [p.name, p])),
          },
          { linkRoutes: [] },
        );
      const want = desiredOf(many);
      h.nftCommit(replaceTableOps(want.table));

      const read = () => {
        const dump = h.nftDump({ family: 'inet', table });
        return { dump, current: { table: tableFromDump(dump, table)!, ipRules: [], routes: [] } };
      };
      let t = performance.now();
      const first = read();
      const dumpMs = performance.now() - t;
      // Includes one connmark restore rule (filter_prerouting) for the mark all profiles share,
      // and the two dns.server rules (UDP, TCP) of the redirect port they share.
      expect(first.current.table.chains.reduce((n, c) => n + c.rules.length, 0)).toBe(40_007);
      t = performance.now();
      const noop = plan(first.current, { ...want, ipRules: [], routes: [] });
      const planMs = performance.now() - t;
      expect(noop.changes).toEqual([]);
      expect(noop.nft).toEqual([]);

      const next = desiredOf([...many, profile(10_000)]);
      const addOne = plan(first.current, { ...next, ipRules: [], routes: [] });
      expect(addOne.nft.map((o) => `${o.verb} ${o.object}`).sort()).toEqual([
        ...Array<string>(3).fill('add chain'),
        ...Array<string>(3).fill('add element'),
        ...Array<string>(4).fill('add rule'),
      ]);
      h.nftCommit(addOne.nft, { genid: first.dump.genid });
      expect(plan(read().current, { ...next, ipRules: [], routes: [] }).nft).toEqual([]);
      // Not a timed test (the machine is shared); the numbers are for the report.
      console.log(`10,000 profiles: dump ${dumpMs.toFixed(0)} ms, no-op plan ${planMs.toFixed(0)} ms`);
    } finally {
      h.close();
      ns.remove();
    }
  });
});
