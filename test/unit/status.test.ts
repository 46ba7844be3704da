// buildStatus / computeRates / formatStatus with fixtures: the real compile and
// plan, a "kernel" table made from the desired one with counters set and objects
// removed by hand.
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { TableState } from '../../src/shared/model.js';
import { plan } from '../../src/plan/plan.js';
import { buildStatus, computeRates } from '../../src/status/build.js';
import { compactCount, formatStatus, humanBytes } from '../../src/status/format.js';
import type { StatusSnapshot } from '../../src/status/model.js';
import type { Mutable } from '../helpers/mutable.js';

const config = parseConfig(
  'table: netcg\nprofiles:\n  unlocator:\n    classid: 42\n    dns: { redirect: 5354 }\n    ipv6: reject\n  vpn:\n    classid: 43\n    route: { via: tun0 }\n  web_v2:\n    match: cgroupv2\n    dns: { redirect: 5355 }\n',
  'fixture.yaml',
);
const facts = { linkRoutes: [], cgroups: { netCls: true, ids: { web_v2: 4242n } } };
const desired = compile(config, facts);

/** The desired table as the kernel would list it: handles, and `packets` on every counter. */
function kernelTable(packets: (chain: string, i: number) => number): Mutable<TableState> {
  let handle = 1;
  return {
    ...desired.table,
    chains: desired.table.chains.map((c) => ({
      ...c,
      rules: c.rules.map((r, i) => ({
        handle: handle++,
        exprs: r.exprs.map((e) =>
          e.type === 'counter' ? { ...e, packets: packets(c.name, i), bytes: packets(c.name, i) * 100 } : e,
        ),
      })),
    })),
    maps: desired.table.maps.map((m) => ({ ...m, elements: [...m.elements] })),
  };
}

function snapshot(table: TableState | undefined, time: number): StatusSnapshot {
  const current = { table, ipRules: desired.ipRules, routes: desired.routes };
  return buildStatus({
    config,
    table,
    plan: plan(current, desired),
    links: [{ index: 5, name: 'tun0', up: false }],
    cgroups: {
      unlocator: { match: 'net_cls', dir: '/sys/fs/cgroup/net_cls/netcg/unlocator', members: 2 },
      vpn: { match: 'net_cls', dir: '/sys/fs/cgroup/net_cls/netcg/vpn', members: 0 },
      web_v2: { match: 'cgroupv2', dir: '/sys/fs/cgroup/netcg/web_v2', members: 1, id: 4242n },
    },
    time,
  });
}

describe('buildStatus', () => {
  it("gives each profile its match, members, features (with the via link's state) and its own rules' counters", () => {
    const s = snapshot(
      kernelTable((chain, i) => (chain === 'dns_unlocator' ? 10 + i : 1)),
      1000,
    );
    expect(s.inSync).toBe(true);
    const [unlocator, vpn, web] = s.profiles;
    expect(unlocator).toMatchObject({
      name: 'unlocator',
      match: { kind: 'net_cls', classid: 42 },
      members: 2,
      features: { dns: { redirect: 5354 }, ipv6: 'reject' },
      drift: [],
    });
    expect(unlocator!.rules.map((r) => [r.chain, r.rule, r.packets, r.bytes])).toEqual([
      ['dns_unlocator', 'udp dport 53 redirect to :5354', 10, 1000],
      ['dns_unlocator', 'tcp dport 53 redirect to :5354', 11, 1100],
      ['ipv6_unlocator', 'reject', 1, 100],
    ]);
    expect(unlocator!.totals).toEqual({ packets: 22, bytes: 2200 });
    expect(vpn!.features.route).toMatchObject({ via: 'tun0', link: 'down', mark: 43, table: 43 });
    expect(web!.match).toEqual({ kind: 'cgroupv2', cgroup: '/sys/fs/cgroup/netcg/web_v2', id: '4242' });
    expect(s.shared.rules.map((r) => r.chain)).toEqual(
      expect.arrayContaining(['nat_output', 'route_output', 'filter_output']),
    );
    expect(s.shared.rules.some((r) => r.chain.endsWith('_unlocator'))).toBe(false);
  });

  it('maps drift to the profile whose chain, rule or map element it touches; shared objects to the table line', () => {
    const t = kernelTable(() => 0);
    t.chains = t.chains.filter((c) => c.name !== 'route_vpn');
    const dnsV2 = t.maps.find((m) => m.name === 'dns_dispatch_v2')!;
    dnsV2.elements = [];
    t.chains.find((c) => c.name === 'dns_unlocator')!.rules.pop();
    t.chains.find((c) => c.name === 'nat_output')!.rules = [];
    const s = snapshot(t, 1000);
    expect(s.inSync).toBe(false);
    const drift = Object.fromEntries(s.profiles.map((p) => [p.name, p.drift]));
    expect(drift.vpn).toEqual(
      expect.arrayContaining([
        '+ chain route_vpn',
        '+ rule route_vpn: counter meta mark set 0x0000002b ct mark set meta mark',
      ]),
    );
    expect(drift.unlocator).toEqual(['+ rule dns_unlocator: tcp dport 53 counter redirect to :5354']);
    expect(drift.web_v2).toEqual(['+ element dns_dispatch_v2 { 4242 : jump dns_web_v2 }']);
    expect(s.shared.drift.some((d) => d.startsWith('+ rule nat_output: '))).toBe(true);
  });

  it('says the table does not exist when nothing was applied', () => {
    const s = snapshot(undefined, 1000);
    expect(s.table.exists).toBe(false);
    expect(s.inSync).toBe(false);
    expect(s.profiles.every((p) => p.rules.length === 0)).toBe(true);
    expect(formatStatus(s, { color: false }).join('\n')).toContain('NOT APPLIED');
  });
});

describe('computeRates', () => {
  it('divides the counter deltas by the time between samples; a reset counter restarts from 0', () => {
    const a = snapshot(
      kernelTable((c) => (c === 'dns_unlocator' ? 100 : 50)),
      10_000,
    );
    const b = snapshot(
      kernelTable((c) => (c === 'dns_unlocator' ? 120 : 5)),
      12_000,
    );
    const r = computeRates(a, b);
    expect(r.seconds).toBe(2);
    expect(r.profiles.get('unlocator')).toEqual({ packets: 10 + 10 + 2.5, bytes: 2250 });
    expect(r.profiles.get('vpn')).toEqual({ packets: 2.5, bytes: 250 });
  });
});

describe('formatStatus', () => {
  it('fits 80 columns, with and without rate columns', () => {
    const a = snapshot(
      kernelTable(() => 123_456_789),
      0,
    );
    const b = snapshot(
      kernelTable(() => 987_654_321),
      1000,
    );
    for (const opts of [{ color: false }, { color: false, rates: computeRates(a, b), footer: 'q quit' }]) {
      const lines = formatStatus(b, opts);
      for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
      expect(lines[1]).toContain(opts.footer ? 'PKT/S' : 'BYTES');
    }
    const text = formatStatus(b, { color: false }).join('\n');
    expect(text).toMatch(/^unlocator · classid 42 · 2 members$/m);
    expect(text).toContain('via tun0 (down) table 43 mark 0x2b');
    expect(text).toMatch(/^web_v2 · cgroup v2 id 4242 · 1 member$/m);
  });

  it('prints sizes compactly', () => {
    expect([humanBytes(0), humanBytes(840), humanBytes(1536), humanBytes(50 * 1024 ** 2)]).toEqual([
      '0B',
      '840B',
      '1.5K',
      '50M',
    ]);
    expect([compactCount(99_999), compactCount(123_456), compactCount(9_870_000)]).toEqual([
      '99999',
      '123K',
      '9.9M',
    ]);
  });
});
