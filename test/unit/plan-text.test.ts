// Golden text of `netcg diff` / the plan `netcg apply` prints: every kind of change
// (add, delete, re-create/change of table, map, chain, rule, element, ip rule,
// route) as committed files under __golden__/, reviewed line by line against what
// `nft list`, `ip rule` and `ip route` print. A change in wording shows up as a diff
// of those files (`npx vitest run -u test/unit/plan-text.test.ts` rewrites them).
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { hostU32, hostU64 } from '../../src/nft/index.js';
import { formatPlan } from '../../src/plan/format.js';
import { plan, type Change, type CurrentState } from '../../src/plan/plan.js';
import { changeText } from '../../src/plan/text.js';
import { ipRuleView, mapView, routeView, ruleView, type RouteView } from '../../src/plan/views.js';
import type { DesiredState, Expr, RouteSpec } from '../../src/shared/model.js';
import { NETCG_RTPROT } from '../../src/shared/model.js';
import { SimKernel } from './plan-sim.js';
import { applyPlan } from './plan-fixtures.js';

const golden = (name: string) => `./__golden__/${name}`;

/** Every kind of profile: dns + ipv6, routed (table/mark 43), cgroup v2, offline, proxy. */
const CONFIG = parseConfig(
  [
    'table: netcg',
    'profiles:',
    '  unlocator:',
    '    classid: 42',
    '    dns: { redirect: 5354 }',
    '    ipv6: reject',
    '  vpn:',
    '    classid: 43',
    '    route: { via: tun0, table: 43, mark: 43 }',
    '  web:',
    '    match: cgroupv2',
    '    dns: { redirect: 5355 }',
    '  offline:',
    '    classid: 44',
    '    network: offline',
    '  tor:',
    '    classid: 45',
    '    proxy: { tcp: 9040, udp: reject }',
    '',
  ].join('\n'),
  'golden.yaml',
);
const FACTS = {
  linkRoutes: [
    { family: 4 as const, dst: '198.18.0.0/24', dev: 'lan0' },
    { family: 6 as const, dst: '2001:db8:1::/64', dev: 'lan0' },
  ],
  cgroups: { netCls: true, ids: { web: 4242n } },
};
const FULL = compile(CONFIG, FACTS);
const COUNTER: Expr = { type: 'counter', packets: 0, bytes: 0 };
const EMPTY: CurrentState = { ipRules: [], routes: [] };

const text = (p: ReturnType<typeof plan>) => formatPlan(p, { color: false });

/** The kernel after applying `d` to an empty namespace (rules get handles 1, 2, ...). */
function kernelWith(d: DesiredState): SimKernel {
  const k = new SimKernel();
  applyPlan(k, plan(k.current(), d));
  return k;
}

describe('plan text (golden)', () => {
  it('creates everything from nothing', async () => {
    await expect(text(plan(EMPTY, FULL))).toMatchFileSnapshot(golden('plan-create.txt'));
  });

  it('destroys what a config without profiles no longer needs', async () => {
    const none = compile(parseConfig('table: netcg\nprofiles: {}\n', 'none.yaml'), FACTS);
    const k = kernelWith(FULL);
    await expect(text(plan(k.current(), none))).toMatchFileSnapshot(golden('plan-destroy.txt'));
  });

  it('shows in-place changes and re-created objects, old -> new', async () => {
    const k = kernelWith(FULL);
    const cur = k.current();
    const t = cur.table!;
    // A map created with another key type (no typeof): re-created, with its element.
    const route = t.maps.find((m) => m.name === 'route_dispatch')!;
    route.keyType = 19;
    route.userdata = undefined;
    // An element jumping to the wrong chain; a stale element; a missing one.
    const dns = t.maps.find((m) => m.name === 'dns_dispatch')!;
    dns.elements = [
      { key: hostU32(42), verdict: { code: 'jump', chain: 'proxy_tor' } },
      { key: hostU32(99), verdict: { code: 'jump', chain: 'dns_unlocator' } },
    ];
    t.maps.find((m) => m.name === 'dns_dispatch_v2')!.elements = [
      { key: hostU64(4243n), verdict: { code: 'jump', chain: 'dns_web' } },
    ];
    // A base chain at another priority, a regular chain turned into a base chain.
    t.chains.find((c) => c.name === 'nat_output')!.hook!.priority = -90;
    t.chains.find((c) => c.name === 'route_vpn')!.hook = {
      type: 'filter',
      hook: 'output',
      priority: 0,
      policy: 'drop',
    };
    // Rules out of order (re-created), a changed rule, a foreign rule, a foreign chain.
    const dnsChain = t.chains.find((c) => c.name === 'dns_unlocator')!;
    dnsChain.rules.reverse();
    const ipv6 = t.chains.find((c) => c.name === 'ipv6_unlocator')!;
    ipv6.rules = [
      {
        ...ipv6.rules[0]!,
        exprs: [COUNTER, { type: 'immediate', dreg: 0, verdict: { code: 'drop' } }],
      },
    ];
    t.chains.push({
      name: 'intruder',
      rules: [
        {
          handle: 900,
          exprs: [
            { type: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 },
            { type: 'cmp', op: 'eq', sreg: 1, data: Buffer.from([198, 51, 100, 7]) },
            COUNTER,
            { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
          ] as Expr[],
        },
      ],
    });
    // ip rules: one with another mark, one missing; routes: one on another device, one missing.
    cur.ipRules = cur.ipRules.filter((r) => r.family === 4).map((r) => ({ ...r, fwmark: 0x2c }));
    cur.routes = cur.routes
      .filter((r) => r.dst !== '2001:db8:1::/64')
      .map((r) => (r.dst === '198.18.0.0/24' ? { ...r, dev: 'eth9' } : r));
    await expect(text(plan(cur, FULL))).toMatchFileSnapshot(golden('plan-change.txt'));
  });

  it('prints every form of object, as the kernel tools would', async () => {
    const route = (over: Partial<RouteSpec & { gateway: string }>): RouteView =>
      routeView({
        family: 4,
        table: 43,
        dst: '0.0.0.0/0',
        dev: 'tun0',
        scope: 'universe',
        protocol: NETCG_RTPROT,
        type: 'unicast',
        ...over,
      } as RouteSpec);
    const ipRule = (over: Partial<Parameters<typeof ipRuleView>[0]>) =>
      ipRuleView({ family: 4, priority: 10000, fwmark: 0x2b, table: 43, protocol: NETCG_RTPROT, ...over });
    const dnsRule = FULL.table.chains.find((c) => c.name === 'dns_unlocator')!.rules[0]!;
    const changes: Change[] = [
      { action: '+', kind: 'table', id: 'inet netcg', after: { family: 'inet', name: 'netcg' } },
      { action: '-', kind: 'table', id: 'inet netcg', before: { family: 'inet', name: 'netcg' } },
      ...FULL.table.maps.map((m): Change => ({ action: '+', kind: 'map', id: m.name, after: mapView(m) })),
      {
        action: '-',
        kind: 'map',
        id: 'addrs',
        before: mapView({
          name: 'addrs',
          flags: 0x8 | 0x4,
          keyType: 7,
          keyLen: 4,
          dataType: 19,
          dataLen: 4,
          elements: [],
        }),
      },
      {
        action: '-',
        kind: 'map',
        id: 'pairs',
        before: mapView({
          name: 'pairs',
          flags: 0x8 | 0x20 | 0x10,
          keyType: (7 << 6) | 13,
          keyLen: 8,
          dataType: 0xffffff00,
          dataLen: 16,
          elements: [],
        }),
      },
      {
        action: '~',
        kind: 'chain',
        id: 'route_vpn',
        before: { name: 'route_vpn' },
        after: { name: 'route_vpn', hook: { type: 'filter', hook: 'output', priority: 5, policy: 'accept' } },
      },
      {
        action: '~',
        kind: 'chain',
        id: 'filter_prerouting',
        before: {
          name: 'filter_prerouting',
          hook: { type: 'filter', hook: 'prerouting', priority: -100, policy: 'accept' },
        },
        after: {
          name: 'filter_prerouting',
          hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' },
        },
      },
      {
        action: '+',
        kind: 'chain',
        id: 'late',
        after: { name: 'late', hook: { type: 'filter', hook: 'input', priority: 15, policy: 'accept' } },
      },
      {
        action: '+',
        kind: 'chain',
        id: 'raw_out',
        after: {
          name: 'raw_out',
          hook: { type: 'filter', hook: 'output', priority: -310, policy: 'accept' },
        },
      },
      {
        action: '+',
        kind: 'element',
        id: 'dns_dispatch_v2[4242]',
        after: { map: 'dns_dispatch_v2', key: '4242', value: 'goto dns_web' },
      },
      {
        action: '~',
        kind: 'rule',
        id: 'dns_unlocator[1]',
        before: ruleView('dns_unlocator', dnsRule.exprs, { handle: 7 }),
        after: ruleView('dns_unlocator', dnsRule.exprs, { position: 1 }),
      },
      {
        action: '~',
        kind: 'rule',
        id: 'ipv6_unlocator[0]',
        before: ruleView(
          'ipv6_unlocator',
          [COUNTER, { type: 'immediate', dreg: 0, verdict: { code: 'drop' } }],
          {
            handle: 8,
          },
        ),
        after: ruleView('ipv6_unlocator', [COUNTER, { type: 'reject', rejectType: 2, code: 1 }], {
          position: 0,
        }),
      },
      { action: '+', kind: 'ip rule', id: 'a', after: ipRule({}) },
      {
        action: '+',
        kind: 'ip rule',
        id: 'b',
        after: ipRule({ family: 6, priority: 10001, fwmark: 0x100, fwmask: 0xff00 }),
      },
      { action: '-', kind: 'ip rule', id: 'c', before: ipRule({ fwmark: 0, table: 254 }) },
      { action: '+', kind: 'route', id: 'd', after: route({}) },
      { action: '+', kind: 'route', id: 'e', after: route({ dev: '', type: 'unreachable' }) },
      {
        action: '+',
        kind: 'route',
        id: 'f',
        after: route({ family: 6, dst: '::/0', dev: '', type: 'prohibit' }),
      },
      {
        action: '+',
        kind: 'route',
        id: 'g',
        after: route({ dev: '', type: 'blackhole', dst: '198.51.100.0/24' }),
      },
      { action: '+', kind: 'route', id: 'h', after: route({ gateway: '198.51.100.1', dev: 'eth0' }) },
      {
        action: '+',
        kind: 'route',
        id: 'i',
        after: route({ family: 6, dst: '2001:db8::/32', gateway: '2001:db8:1::1', dev: 'eth0' }),
      },
      {
        action: '+',
        kind: 'route',
        id: 'j',
        after: route({ dst: '198.51.100.7/32', dev: 'lan0', scope: 'link' }),
      },
      {
        action: '~',
        kind: 'route',
        id: 'k',
        before: route({ gateway: '198.51.100.1', dev: 'eth0' }),
        after: route({ gateway: '198.51.100.254', dev: 'eth0' }),
      },
    ];
    const lines = changes.map(changeText);
    for (const l of lines) expect(l, l).not.toMatch(/ {2}|key type|flags 0x|: $/);
    await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot(golden('change-lines.txt'));
  });
});
