// route.gateway / gateway6: compile (the table's default route through the next hop,
// `auto` resolved from the host facts, fail-closed when there is none), plan (a moved
// gateway is a changed route), the ip batch text, the config's sharing checks and the
// watch triggers that follow `auto`.
import { describe, expect, it } from 'vitest';

import { compile, gatewayDevicesOf } from '../../src/compile/index.js';
import { ConfigError } from '../../src/shared/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { plan } from '../../src/plan/plan.js';
import { renderIpBatch } from '../../src/render/ip.js';
import type { HostFacts, RouteSpec } from '../../src/shared/model.js';
import { scopeOf, triggerOf } from '../../src/watch/triggers.js';
import type { NetlinkEvent, RtRule } from '../../src/native/types.js';
import { checkGateways, checkRulePriority } from '../../src/doctor/net.js';

const LINKS: HostFacts['linkRoutes'] = [
  { family: 4, dst: '198.18.0.0/24', dev: 'eth0' },
  { family: 6, dst: '2001:db8::/64', dev: 'eth0' },
  { family: 4, dst: '198.18.5.0/24', dev: 'br0' },
];
const AUTO: HostFacts = {
  linkRoutes: LINKS,
  defaultGateways: [
    { family: 4, dev: 'eth0', gateway: '198.18.0.2' },
    { family: 6, dev: 'eth0', gateway: 'fe80::1' },
    { family: 4, dev: 'wlan0', gateway: '198.18.7.1' },
  ],
};

const config = (route: string) =>
  parseConfig(`profiles:\n  lan:\n    classid: 7\n    route: ${route}\n`, 'x.yaml');

/** One line per route: `ipvF [type] dst [via gw] [dev d]`. */
const lines = (routes: RouteSpec[]) =>
  routes.map(
    (r) =>
      `ipv${r.family} ${r.type === 'unicast' ? '' : `${r.type} `}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`,
  );

describe('compile with a gateway', () => {
  it('auto: the main table default of via, both families, and via’s own LAN copied', () => {
    const state = compile(config('{ via: eth0, gateway: auto }'), AUTO);
    expect(lines(state.routes)).toEqual([
      'ipv4 0.0.0.0/0 via 198.18.0.2 dev eth0',
      'ipv4 unreachable 0.0.0.0/0',
      'ipv4 198.18.0.0/24 dev eth0',
      'ipv4 198.18.5.0/24 dev br0',
      'ipv6 ::/0 via fe80::1 dev eth0',
      'ipv6 unreachable ::/0',
      'ipv6 2001:db8::/64 dev eth0',
    ]);
    expect(state.routes.every((r) => r.protocol === 110 && r.table === 7)).toBe(true);
  });

  it('auto unresolved: no unicast default, only the unreachable one, even with failClosed: false', () => {
    const none: HostFacts = { linkRoutes: LINKS };
    for (const route of ['{ via: eth0, gateway: auto }', '{ via: eth0, gateway: auto, failClosed: false }']) {
      const state = compile(config(route), none);
      expect(lines(state.routes).filter((l) => l.includes('/0'))).toEqual([
        'ipv4 unreachable 0.0.0.0/0',
        'ipv6 unreachable ::/0',
      ]);
    }
    // Only IPv6 unresolved: IPv4 still leaves through its gateway.
    const v4only: HostFacts = { linkRoutes: LINKS, defaultGateways: [AUTO.defaultGateways![0]!] };
    expect(
      lines(compile(config('{ via: eth0, gateway: auto, failClosed: false }'), v4only).routes).filter((l) =>
        l.includes('/0'),
      ),
    ).toEqual(['ipv4 0.0.0.0/0 via 198.18.0.2 dev eth0', 'ipv6 unreachable ::/0']);
  });

  it('an address: used as written, whatever the main table says; IPv6 without gateway6 is unreachable', () => {
    const state = compile(config('{ via: eth0, gateway: 198.18.0.254, copyLinkRoutes: false }'), AUTO);
    expect(lines(state.routes)).toEqual([
      'ipv4 0.0.0.0/0 via 198.18.0.254 dev eth0',
      'ipv4 unreachable 0.0.0.0/0',
      'ipv6 unreachable ::/0',
    ]);
    const six = compile(
      config('{ via: eth0, gateway: 198.18.0.254, gateway6: 2001:db8::fe, copyLinkRoutes: false }'),
      AUTO,
    );
    expect(lines(six.routes)).toContain('ipv6 ::/0 via 2001:db8::fe dev eth0');
  });

  it('an address not on via’s subnets (a typo, or via down: its link routes gone) is no gateway: unreachable', () => {
    const offSubnet = compile(config('{ via: eth0, gateway: 198.18.1.1, copyLinkRoutes: false }'), AUTO);
    expect(lines(offSubnet.routes)).toEqual(['ipv4 unreachable 0.0.0.0/0', 'ipv6 unreachable ::/0']);
    const down: HostFacts = { linkRoutes: LINKS.filter((l) => l.dev !== 'eth0') };
    const wanted = '{ via: eth0, gateway: 198.18.0.254, gateway6: 2001:db8::fe, copyLinkRoutes: false }';
    expect(lines(compile(config(wanted), down).routes)).toEqual([
      'ipv4 unreachable 0.0.0.0/0',
      'ipv6 unreachable ::/0',
    ]);
    // A link-local IPv6 gateway is on-link on any interface.
    const ll = compile(config('{ via: eth0, gateway6: FE80::1, copyLinkRoutes: false }'), down);
    expect(lines(ll.routes)).toContain('ipv6 ::/0 via FE80::1 dev eth0');
  });

  it('gateway6 alone: IPv4 unreachable, IPv6 through it', () => {
    const state = compile(
      config('{ via: eth0, gateway6: auto, copyLinkRoutes: false, failClosed: false }'),
      AUTO,
    );
    expect(lines(state.routes)).toEqual(['ipv4 unreachable 0.0.0.0/0', 'ipv6 ::/0 via fe80::1 dev eth0']);
  });

  it('without a gateway nothing changes: `default dev via`, via’s link routes left out', () => {
    const state = compile(config('{ via: tun0 }'), {
      linkRoutes: [...LINKS, { family: 4, dst: '198.19.0.0/30', dev: 'tun0' }],
    });
    expect(lines(state.routes).filter((l) => l.startsWith('ipv4'))).toEqual([
      'ipv4 0.0.0.0/0 dev tun0',
      'ipv4 unreachable 0.0.0.0/0',
      'ipv4 198.18.0.0/24 dev eth0',
      'ipv4 198.18.5.0/24 dev br0',
    ]);
    expect(state.routes.some((r) => r.gateway !== undefined)).toBe(false);
  });

  it('gatewayDevicesOf: the vias of auto routes only', () => {
    const c = parseConfig(
      `profiles:
  a: { classid: 1, route: { via: eth0, gateway: auto } }
  b: { classid: 2, route: { via: wlan0, gateway: 198.18.7.1, gateway6: auto } }
  c: { classid: 3, route: { via: br0, gateway: 198.18.5.1 } }
  d: { classid: 4, route: { via: tun0 } }
`,
      'x.yaml',
    );
    expect(gatewayDevicesOf(Object.values(c.profiles))).toEqual(['eth0', 'wlan0']);
  });
});

describe('plan and render with a gateway', () => {
  it('a moved gateway is a changed route (delete, then add); the same gateway spelled otherwise is no change', () => {
    const before = compile(config('{ via: eth0, gateway: auto }'), AUTO);
    const moved: HostFacts = {
      ...AUTO,
      defaultGateways: [
        { family: 4, dev: 'eth0', gateway: '198.18.0.3' },
        { family: 6, dev: 'eth0', gateway: 'fe80::1' },
      ],
    };
    const after = compile(config('{ via: eth0, gateway: auto }'), moved);
    const p = plan({ ...before }, after);
    expect(p.rtnl.map((op) => `${op.verb} ${op.kind === 'route' ? op.route.gateway : ''}`)).toEqual([
      'del 198.18.0.2',
      'add 198.18.0.3',
    ]);
    expect(p.changes.filter((c) => c.kind === 'route').map((c) => c.action)).toEqual(['~']);
    const upper = compile(config('{ via: eth0, gateway: 198.18.0.2, gateway6: 2001:DB8:0::FE }'), AUTO);
    const kernel = upper.routes.map((r) =>
      r.gateway === '2001:DB8:0::FE' ? { ...r, gateway: '2001:db8::fe' } : r,
    );
    expect(plan({ ...upper, routes: kernel }, upper).rtnl).toEqual([]);
  });

  it('the ip batch names the next hop', () => {
    const state = compile(config('{ via: eth0, gateway: auto, copyLinkRoutes: false }'), AUTO);
    const v4 = state.routes.filter((r) => r.family === 4);
    expect(renderIpBatch(v4.map((route) => ({ verb: 'add' as const, kind: 'route' as const, route })))).toBe(
      'route add default via 198.18.0.2 dev eth0 table 7 proto 110 scope global\n' +
        'route add unreachable default table 7 proto 110 scope global metric 4294967295\n',
    );
  });
});

describe('config with gateways', () => {
  it('accepts gateway: auto and normalises gateway6 to auto', () => {
    const c = config('{ via: eth0, gateway: auto }');
    expect(c.profiles.lan!.route).toMatchObject({ via: 'eth0', gateway: 'auto', gateway6: 'auto' });
  });

  it('profiles sharing a table must agree on the gateways; a derived table is shared only by equal gateways', () => {
    const bad = () =>
      parseConfig(
        `profiles:
  a: { classid: 1, route: { via: eth0, gateway: auto, table: 100 } }
  b: { classid: 2, route: { via: eth0, gateway: 198.18.0.9, table: 100 } }
`,
        'x.yaml',
      );
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/routing table 100 already routes via eth0 with gateway auto, gateway6 auto/);
    const derived = parseConfig(
      `profiles:
  a: { classid: 11, route: { via: eth0, gateway: auto } }
  b: { classid: 12, route: { via: eth0, gateway: 198.18.0.9 } }
  c: { classid: 13, route: { via: eth0, gateway: auto } }
  d: { classid: 14, route: { via: eth0 } }
`,
      'x.yaml',
    );
    expect(Object.values(derived.profiles).map((p) => p.route!.table)).toEqual([11, 12, 11, 14]);
  });
});

describe('watch follows auto', () => {
  const c = config('{ via: eth0, gateway: auto }');
  const scope = scopeOf(c, compile(c, { linkRoutes: LINKS }));
  const names = new Map([
    [2, 'eth0'],
    [3, 'tun0'],
  ]);
  const route = (over: Partial<Extract<NetlinkEvent, { source: 'route' }>>): NetlinkEvent => ({
    source: 'route',
    type: 'new',
    family: 4,
    table: 254,
    dst: '0.0.0.0',
    dstLen: 0,
    protocol: 16,
    routeType: 1,
    oif: 2,
    ...over,
  });

  it('a main-table default route on via (added or deleted) is a trigger, even while auto is unresolved', () => {
    expect(triggerOf(route({}), scope, names)).toBe('ipv4 route 0.0.0.0/0 table 254 added');
    expect(triggerOf(route({ type: 'del', family: 6, dst: '::' }), scope, names)).toBe(
      'ipv6 route ::/0 table 254 deleted',
    );
    expect(
      triggerOf(
        { source: 'link', type: 'new', ifindex: 2, ifname: 'eth0', up: false } as NetlinkEvent,
        scope,
        names,
      ),
    ).toBe('link eth0 down');
  });

  it('a static gateway: via’s addresses and kernel link routes are triggers (is the gateway on-link?)', () => {
    const st = config('{ via: eth0, gateway: 198.18.0.254 }');
    const s2 = scopeOf(st, compile(st, { linkRoutes: LINKS }));
    expect(triggerOf(route({ dst: '198.18.0.0', dstLen: 24, protocol: 2 }), s2, names)).toBe(
      'ipv4 route 198.18.0.0/24 table 254 added',
    );
    const addr = { source: 'addr', type: 'new', family: 4, ifindex: 2, address: '198.18.0.1', prefixLen: 24 };
    const noCopy = config('{ via: eth0, gateway: 198.18.0.254, copyLinkRoutes: false }');
    expect(
      triggerOf(addr as NetlinkEvent, scopeOf(noCopy, compile(noCopy, { linkRoutes: LINKS })), names),
    ).toBe('address 198.18.0.1/24 added to eth0');
  });

  it('other main-table routes are not: other devices, other prefixes (OpenVPN’s def1 halves)', () => {
    expect(triggerOf(route({ oif: 3 }), scope, names)).toBeUndefined();
    expect(triggerOf(route({ dst: '0.0.0.0', dstLen: 1, oif: 3 }), scope, names)).toBeUndefined();
    expect(triggerOf(route({ dst: '198.18.9.0', dstLen: 24, oif: 2 }), scope, names)).toBeUndefined();
    const plain = parseConfig('profiles:\n  v: { classid: 7, route: { via: eth0 } }\n', 'x.yaml');
    expect(
      triggerOf(route({}), scopeOf(plain, compile(plain, { linkRoutes: LINKS })), names),
    ).toBeUndefined();
  });
});

describe('doctor on gateways and rule priorities', () => {
  const c = config('{ via: eth0, gateway: auto }');
  const profiles = Object.values(c.profiles);

  it('warns per family while auto finds no default route on via, ok with the gateway otherwise', () => {
    const found = checkGateways(profiles, [{ family: 4, dev: 'eth0', gateway: '198.18.0.2' }]);
    expect(found.map((f) => `${f.level} ${f.message}`)).toEqual([
      "ok profile lan: gateway auto on eth0 is 198.18.0.2 (the main table's default route)",
      "warn profile lan: gateway6 auto finds no IPv6 default route on eth0 in the main table, so members' IPv6 is unreachable until one appears",
    ]);
    expect(checkGateways(profiles, undefined).every((f) => f.level === 'info')).toBe(true);
  });

  it('warns about foreign rules before ipRulePriority that can match members, not wg-quick’s after it', () => {
    const rules: RtRule[] = [
      { family: 4, priority: 0, table: 255 },
      { family: 4, priority: 5270, table: 52 },
      { family: 4, priority: 5230, table: 52, fwmark: 0x80000, fwmask: 0xff0000 },
      { family: 4, priority: 32764, table: 254 },
      { family: 4, priority: 32765, table: 51820, fwmark: 0xca6c, invert: true },
      { family: 4, priority: 32766, table: 254 },
    ];
    const found = checkRulePriority(profiles, c.ipRulePriority, rules);
    expect(found.map((f) => f.level)).toEqual(['warn']);
    expect(found[0]!.message).toMatch(
      /^ipv4 rule 5270 \(lookup 52\) comes before netcg's rules \(priority 10000\)/,
    );
    expect(checkRulePriority(profiles, 100, rules).map((f) => f.level)).toEqual(['ok']);
  });
});
