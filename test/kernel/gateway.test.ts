// Routes through a gateway against the real kernel (issue 11, "Bypass through a
// gateway"): RTA_GATEWAY encoded and decoded by the addon for both families (a
// link-local IPv6 next hop included), judged by what `ip` prints; the main table's
// default gateways that `gateway: auto` resolves to, read by both backends alike
// (kernel-filtered by table, type and device; the lowest metric wins); and netcg's
// gateway routes read back the same way by the netlink and the nft backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkBackend } from '../../src/backends/netlink.js';
import { NftBackend } from '../../src/backends/nft.js';
import { openHandle } from '../../src/native/index.js';
import type { NetlinkHandle, RtRoute } from '../../src/native/types.js';
import type { RouteSpec } from '../../src/shared/model.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const TABLE = 4711;
let ns: Netns;
let h: NetlinkHandle;
let lan: number;

beforeAll(() => {
  ns = createNetns('ncgw');
  ns.sysctl({ 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' });
  ns.ip('link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lanp');
  ns.ip('link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wanp');
  for (const dev of ['lan0', 'lanp', 'wan0', 'wanp']) ns.ip('link', 'set', dev, 'up');
  ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'lan0');
  ns.ip('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'lan0', 'nodad');
  ns.ip('addr', 'add', '198.18.5.1/24', 'dev', 'wan0');
  // Main: two defaults on lan0 (the lower metric is the one the kernel uses), one on
  // wan0 with an even lower metric (another device: never lan0's), and def1-style halves.
  ns.ip('route', 'add', 'default', 'via', '198.18.0.2', 'dev', 'lan0', 'metric', '100');
  ns.ip('route', 'add', 'default', 'via', '198.18.0.3', 'dev', 'lan0', 'metric', '50');
  ns.ip('route', 'add', 'default', 'via', '198.18.5.254', 'dev', 'wan0', 'metric', '10');
  ns.ip('route', 'add', '0.0.0.0/1', 'via', '198.18.5.254', 'dev', 'wan0');
  ns.ip('-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'lan0');
  h = openHandle(ns.path);
  lan = h.linkDump().find((l) => l.name === 'lan0')!.index;
});

afterAll(() => {
  try {
    h?.close();
  } finally {
    ns?.remove();
  }
});

const ipRoutes = (family: 4 | 6, table: number | string) =>
  ns
    .ip(`-${family}`, 'route', 'show', 'table', String(table))
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

describe('RTA_GATEWAY through the addon', () => {
  it('IPv6 routes through a global and a link-local next hop: added, listed by ip, dumped back equal', () => {
    const global: RtRoute = {
      family: 6,
      table: TABLE,
      dst: '2001:db8:ff::',
      dstLen: 48,
      oif: lan,
      gateway: '2001:db8::2',
      protocol: 110,
    };
    const linkLocal: RtRoute = { ...global, dst: '::', dstLen: 0, gateway: 'fe80::1' };
    h.routeAdd(global);
    h.routeAdd(linkLocal);
    try {
      expect(ipRoutes(6, TABLE)).toEqual([
        '2001:db8:ff::/48 via 2001:db8::2 dev lan0 proto 110 metric 1024 pref medium',
        'default via fe80::1 dev lan0 proto 110 metric 1024 pref medium',
      ]);
      expect(h.routeDump({ family: 6, table: TABLE })).toEqual([
        expect.objectContaining({
          dst: '2001:db8:ff::',
          dstLen: 48,
          oif: lan,
          gateway: '2001:db8::2',
          type: 1,
        }),
        expect.objectContaining({ dst: '::', dstLen: 0, oif: lan, gateway: 'fe80::1', type: 1 }),
      ]);
    } finally {
      h.routeDel(global);
      h.routeDel(linkLocal);
    }
    expect(ipRoutes(6, TABLE)).toEqual([]);
  });

  it('a main-table dump filtered by type and device gives only that device’s routes, gateways included', () => {
    const routes = h.routeDump({ family: 4, table: 254, type: 1, oif: lan });
    expect(routes.every((r) => r.oif === lan && r.table === 254)).toBe(true);
    expect(routes.filter((r) => r.dstLen === 0).map((r) => [r.gateway, r.priority])).toEqual([
      ['198.18.0.3', 50],
      ['198.18.0.2', 100],
    ]);
  });
});

describe('the backends on gateways', () => {
  it('hostFacts: the default gateway per device and family that auto resolves to, the same from both backends', () => {
    const want = [
      { family: 4, dev: 'lan0', gateway: '198.18.0.3' },
      { family: 6, dev: 'lan0', gateway: 'fe80::1' },
    ];
    const netlink = new NetlinkBackend(ns.path);
    try {
      expect(netlink.hostFacts({ gatewayDevices: ['lan0'] }).defaultGateways).toEqual(want);
      expect(netlink.hostFacts({ gatewayDevices: ['wan0'] }).defaultGateways).toEqual([
        { family: 4, dev: 'wan0', gateway: '198.18.5.254' },
      ]);
      expect(netlink.hostFacts().defaultGateways).toBeUndefined();
    } finally {
      netlink.close();
    }
    expect(new NftBackend(ns.path).hostFacts({ gatewayDevices: ['lan0'] }).defaultGateways).toEqual(want);
  });

  it("netcg's routes through a gateway: added by either backend, read back equal by both", () => {
    const routes: RouteSpec[] = [
      {
        family: 4,
        table: TABLE,
        dst: '0.0.0.0/0',
        dev: 'lan0',
        gateway: '198.18.0.2',
        scope: 'universe',
        protocol: 110,
        type: 'unicast',
      },
      {
        family: 4,
        table: TABLE,
        dst: '0.0.0.0/0',
        dev: '',
        scope: 'universe',
        protocol: 110,
        type: 'unreachable',
      },
      {
        family: 6,
        table: TABLE,
        dst: '::/0',
        dev: 'lan0',
        gateway: 'fe80::1',
        scope: 'universe',
        protocol: 110,
        type: 'unicast',
      },
    ];
    for (const [name, make] of [
      ['netlink', () => new NetlinkBackend(ns.path)],
      ['nft', () => new NftBackend(ns.path)],
    ] as const) {
      const b = make();
      try {
        for (const route of routes) b.rtnl({ verb: 'add', kind: 'route', route });
        expect(ipRoutes(4, TABLE), name).toEqual([
          'default via 198.18.0.2 dev lan0 proto 110',
          'unreachable default proto 110 metric 4294967295',
        ]);
        const netlink = new NetlinkBackend(ns.path);
        try {
          expect(
            netlink.ownedRtnl().routes.filter((r) => r.table === TABLE),
            name,
          ).toEqual(routes);
        } finally {
          netlink.close();
        }
        expect(
          new NftBackend(ns.path).readOwned('none').routes.filter((r) => r.table === TABLE),
          name,
        ).toEqual(routes);
        for (const route of routes) b.rtnl({ verb: 'del', kind: 'route', route });
        expect(ipRoutes(4, TABLE), name).toEqual([]);
      } finally {
        b.close();
      }
    }
  });
});
