// Golden text of `netcg status` (formatStatus) from fixed status models, committed
// under __golden__/ and reviewed line by line: rules as `nft list` prints them,
// drift lines as `netcg diff` prints them.
import { beforeAll, describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { plan } from '../../src/plan/plan.js';
import { buildStatus, computeRates } from '../../src/status/build.js';
import { formatStatus } from '../../src/status/format.js';
import type { StatusSnapshot } from '../../src/status/model.js';

// The clock in the header is local time.
beforeAll(() => {
  process.env.TZ = 'UTC';
});

const golden = (name: string) => `./__golden__/${name}`;
const NOON = Date.UTC(2026, 11, 2, 12, 0, 0);

const MODEL: StatusSnapshot = {
  version: 1,
  time: NOON,
  netns: '/run/netns/lab',
  table: { family: 'inet', name: 'netcg', exists: true },
  inSync: false,
  profiles: [
    {
      name: 'unlocator',
      match: { kind: 'net_cls', classid: 42, cgroup: '/sys/fs/cgroup/net_cls/netcg/unlocator' },
      members: 2,
      features: { dns: { redirect: 5354 }, ipv6: 'reject' },
      rules: [
        {
          chain: 'dns_unlocator',
          rule: 'udp dport 53 redirect to :5354',
          handle: 10,
          packets: 120,
          bytes: 8400,
        },
        {
          chain: 'dns_unlocator',
          rule: 'tcp dport 53 redirect to :5354',
          handle: 11,
          packets: 3,
          bytes: 180,
        },
        { chain: 'ipv6_unlocator', rule: 'reject', handle: 12, packets: 0, bytes: 0 },
      ],
      totals: { packets: 123, bytes: 8580 },
      drift: [],
    },
    {
      name: 'vpn',
      match: { kind: 'cgroupv2', cgroup: '/sys/fs/cgroup/unified/netcg/vpn', id: '4242' },
      members: 1,
      features: {
        route: {
          via: 'tun0',
          table: 1854379434,
          mark: 0x6e8795aa,
          masquerade: true,
          link: 'up',
          allocated: true,
        },
      },
      rules: [
        {
          chain: 'route_vpn',
          rule: 'meta mark set 0x6e8795aa ct mark set meta mark',
          handle: 13,
          packets: 1_234_567,
          bytes: 987_654_321,
        },
      ],
      totals: { packets: 1_234_567, bytes: 987_654_321 },
      drift: [
        '- route 0.0.0.0/0 table 1854379434: default dev tun0 proto 110',
        '+ route 0.0.0.0/0 table 1854379434: default dev tun1 proto 110',
      ],
    },
    {
      name: 'lan',
      match: {
        kind: 'cgroupv2',
        cgroup: null,
        existing: [{ path: '/system.slice/backup.service', id: '777' }],
      },
      members: 3,
      features: {
        route: {
          via: 'lan0',
          table: 46,
          mark: 46,
          masquerade: false,
          link: 'up',
          gateway: { configured: 'auto', current: '198.18.0.254' },
          gateway6: { configured: 'auto', current: null },
        },
      },
      rules: [],
      totals: { packets: 0, bytes: 0 },
      drift: [
        '~ route 0.0.0.0/0 table 46: default via 198.18.0.253 dev lan0 proto 110 -> default via 198.18.0.254 dev lan0 proto 110',
      ],
    },
    {
      name: 'tor',
      match: { kind: 'net_cls', classid: 45, cgroup: null },
      members: 0,
      features: {
        dns: { redirect: 5353 },
        proxy: { tcp: 9040, udp: 'reject', server: 'debian-tor' },
        ipv6: 'reject',
      },
      rules: [],
      totals: { packets: 0, bytes: 0 },
      drift: [
        '+ chain proxy_tor',
        '+ rule proxy_tor: meta l4proto tcp fib daddr type != local counter redirect to :9040',
      ],
    },
  ],
  shared: {
    rules: [
      { chain: 'nat_output', rule: 'meta cgroup vmap @dns_dispatch', handle: 1, packets: 123, bytes: 8580 },
      {
        chain: 'route_output',
        rule: 'socket cgroupv2 level 3 vmap @route_dispatch_v2',
        handle: 3,
        packets: 0,
        bytes: 0,
      },
    ],
    drift: ['~ map dns_dispatch { type integer : verdict } -> { typeof meta cgroup : verdict }'],
  },
  servers: [
    {
      kind: 'dns',
      port: 5353,
      protocols: ['udp', 'tcp'],
      profiles: ['tor'],
      server: { user: 'root', uid: 0 },
      listeners: [],
    },
    {
      kind: 'dns',
      port: 5354,
      protocols: ['udp', 'tcp'],
      profiles: ['unlocator'],
      server: { user: 'root', uid: 0 },
      listeners: [
        {
          protocol: 'udp',
          family: 4,
          address: '127.0.0.1',
          uid: 0,
          user: 'root',
          inode: 31337,
          processes: [{ pid: 812, comm: 'dnsmasq' }],
          server: true,
        },
        {
          protocol: 'tcp',
          family: 4,
          address: '127.0.0.1',
          uid: 65534,
          user: 'nobody',
          inode: 31400,
          processes: [{ pid: 900, comm: 'python3' }],
          server: false,
        },
      ],
    },
    {
      kind: 'proxy',
      port: 9040,
      protocols: ['tcp'],
      profiles: ['tor'],
      server: { user: 'debian-tor', uid: 108 },
      listeners: [
        {
          protocol: 'tcp',
          family: 4,
          address: '127.0.0.1',
          uid: 108,
          user: 'debian-tor',
          inode: 31500,
          processes: [{ pid: 700, comm: 'tor' }],
          server: true,
        },
      ],
    },
  ],
};

describe('netcg status text (golden)', () => {
  it('prints a fixed status model', async () => {
    const text = `${formatStatus(MODEL, { color: false }).join('\n')}\n`;
    await expect(text).toMatchFileSnapshot(golden('status-model.txt'));
  });

  it('prints what buildStatus makes of a table with drift, with rates', async () => {
    const config = parseConfig(
      'table: netcg\nprofiles:\n  unlocator:\n    classid: 42\n    dns: { redirect: 5354 }\n    ipv6: reject\n  vpn:\n    classid: 43\n    route: { via: tun0, table: 43, mark: 43 }\n  web:\n    match: cgroupv2\n    dns: { redirect: 5355 }\n',
      'status.yaml',
    );
    const desired = compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: { web: 4242n } } });
    let handle = 1;
    const read = (packets: number) => ({
      ...desired.table,
      maps: desired.table.maps.map((m) => (m.name === 'dns_dispatch_v2' ? { ...m, elements: [] } : m)),
      chains: desired.table.chains
        .filter((c) => c.name !== 'route_vpn')
        .map((c) => ({
          ...c,
          rules: c.rules.map((r) => ({
            handle: handle++,
            exprs: r.exprs.map((e) => (e.type === 'counter' ? { ...e, packets, bytes: packets * 60 } : e)),
          })),
        })),
    });
    const snapshot = (packets: number, time: number) => {
      const table = read(packets);
      handle = 1;
      return buildStatus({
        config,
        table,
        plan: plan({ table, ipRules: desired.ipRules, routes: desired.routes.slice(1) }, desired),
        links: [{ index: 5, name: 'tun0', up: false }],
        cgroups: {
          unlocator: { match: 'net_cls', dir: '/sys/fs/cgroup/net_cls/netcg/unlocator', members: 2 },
          vpn: { match: 'net_cls', dir: '/sys/fs/cgroup/net_cls/netcg/vpn', members: 0 },
          web: { match: 'cgroupv2', dir: '/sys/fs/cgroup/unified/netcg/web', members: 1, id: 4242n },
        },
        time,
      });
    };
    const before = snapshot(100, NOON);
    const now = snapshot(160, NOON + 2000);
    const lines = formatStatus(now, { color: false, rates: computeRates(before, now), footer: 'q quit' });
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80);
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot(golden('status-drift.txt'));
  });
});
