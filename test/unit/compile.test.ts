import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import type { DesiredState, Expr, HostFacts } from '../../src/shared/model.js';

const FACTS: HostFacts = {
  linkRoutes: [
    { family: 4, dst: '198.18.0.0/24', dev: 'lan0' },
    { family: 4, dst: '198.19.0.0/30', dev: 'tun0' }, // on `via` itself: covered by the default route
    { family: 6, dst: '2001:db8:1::/64', dev: 'lan0' },
  ],
};

// Meta values (mark, classid) are host byte order; these bytes are for a little-endian host (x86-64, arm64).
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const counter: Expr = { type: 'counter', packets: 0, bytes: 0 };
const TYPEOF_CGROUP_VERDICT = hex(
  '000401000000 010400000000 030e 000409000000 0106 000417000000 0408 000401000000 0100 060400000000',
);
const MAP = {
  flags: 0x8,
  keyType: 4,
  keyLen: 4,
  dataType: 0xffffff00,
  dataLen: 16,
  userdata: TYPEOF_CGROUP_VERDICT,
};

/** nft's own expression lists for the seed ruleset (`nft --debug=netlink`), written out by hand. */
const SEED: DesiredState = {
  table: {
    family: 'inet',
    name: 'netcg',
    maps: [
      {
        name: 'dns_dispatch',
        ...MAP,
        elements: [{ key: hex('2a000000'), verdict: { code: 'jump', chain: 'dns_unlocator' } }],
      },
      {
        name: 'ipv6_dispatch',
        ...MAP,
        elements: [{ key: hex('2a000000'), verdict: { code: 'jump', chain: 'ipv6_unlocator' } }],
      },
      {
        name: 'route_dispatch',
        ...MAP,
        elements: [{ key: hex('2b000000'), verdict: { code: 'jump', chain: 'route_vpn' } }],
      },
    ],
    chains: [
      {
        name: 'nat_output',
        hook: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
        rules: [
          {
            exprs: [
              counter,
              { type: 'meta', key: 'cgroup', dreg: 1 },
              { type: 'lookup', sreg: 1, set: 'dns_dispatch', dreg: 0 },
            ],
          },
        ],
      },
      {
        // `udp sport 5354 ct direction reply ct status dnat meta skuid != 0 counter drop` and
        // `tcp sport 5354 tcp flags syn …` (dns.server, default root), as nft --debug=netlink shows them.
        name: 'filter_dnsreply',
        hook: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
        rules: [17, 6].map((proto) => ({
          exprs: [
            { type: 'meta', key: 'l4proto', dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'eq', data: hex(proto.toString(16).padStart(2, '0')) },
            { type: 'payload', base: 'transport', offset: 0, len: 2, dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'eq', data: hex('14ea') },
            ...(proto === 6
              ? ([
                  { type: 'payload', base: 'transport', offset: 13, len: 1, dreg: 1 },
                  { type: 'bitwise', sreg: 1, dreg: 1, len: 1, mask: hex('02'), xor: hex('00') },
                  { type: 'cmp', sreg: 1, op: 'neq', data: hex('00') },
                ] as const)
              : []),
            { type: 'ct', key: 'direction', dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'eq', data: hex('01') },
            { type: 'ct', key: 'status', dreg: 1 },
            { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: hex('20000000'), xor: hex('00000000') },
            { type: 'cmp', sreg: 1, op: 'neq', data: hex('00000000') },
            { type: 'meta', key: 'skuid', dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'neq', data: hex('00000000') },
            counter,
            { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
          ],
        })),
      },
      {
        name: 'route_output',
        hook: { type: 'route', hook: 'output', priority: -150, policy: 'accept' },
        rules: [
          {
            exprs: [
              counter,
              { type: 'meta', key: 'cgroup', dreg: 1 },
              { type: 'lookup', sreg: 1, set: 'route_dispatch', dreg: 0 },
            ],
          },
        ],
      },
      {
        name: 'filter_output',
        hook: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
        rules: [
          {
            exprs: [
              { type: 'meta', key: 'nfproto', dreg: 1 },
              { type: 'cmp', sreg: 1, op: 'eq', data: hex('0a') },
              counter,
              { type: 'meta', key: 'cgroup', dreg: 1 },
              { type: 'lookup', sreg: 1, set: 'ipv6_dispatch', dreg: 0 },
            ],
          },
        ],
      },
      {
        name: 'nat_postrouting',
        hook: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
        rules: [
          {
            exprs: [
              { type: 'meta', key: 'mark', dreg: 1 },
              { type: 'cmp', sreg: 1, op: 'eq', data: hex('2b000000') },
              { type: 'meta', key: 'oifname', dreg: 1 },
              { type: 'cmp', sreg: 1, op: 'eq', data: hex('74756e30 00000000 00000000 00000000') },
              counter,
              { type: 'masq' },
            ],
          },
        ],
      },
      {
        // connmark restore: `ct mark 0x0000002b counter meta mark set ct mark`
        name: 'filter_prerouting',
        hook: { type: 'filter', hook: 'prerouting', priority: -150, policy: 'accept' },
        rules: [
          {
            exprs: [
              { type: 'ct', key: 'mark', dreg: 1 },
              { type: 'cmp', sreg: 1, op: 'eq', data: hex('2b000000') },
              counter,
              { type: 'ct', key: 'mark', dreg: 1 },
              { type: 'meta', key: 'mark', sreg: 1 },
            ],
          },
        ],
      },
      {
        name: 'dns_unlocator',
        rules: ['11', '06'].map((l4proto) => ({
          exprs: [
            { type: 'meta', key: 'l4proto', dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'eq', data: hex(l4proto) },
            { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
            { type: 'cmp', sreg: 1, op: 'eq', data: hex('0035') },
            counter,
            { type: 'immediate', dreg: 1, data: hex('14ea') },
            { type: 'redir', regProtoMin: 1, regProtoMax: 1, flags: 2 },
          ] satisfies Expr[],
        })),
      },
      { name: 'ipv6_unlocator', rules: [{ exprs: [counter, { type: 'reject', rejectType: 2, code: 1 }] }] },
      {
        name: 'route_vpn',
        // `counter meta mark set 0x0000002b ct mark set meta mark` (connmark save)
        rules: [
          {
            exprs: [
              counter,
              { type: 'immediate', dreg: 1, data: hex('2b000000') },
              { type: 'meta', key: 'mark', sreg: 1 },
              { type: 'meta', key: 'mark', dreg: 1 },
              { type: 'ct', key: 'mark', sreg: 1 },
            ],
          },
        ],
      },
    ],
  },
  ipRules: [
    { family: 4, priority: 10000, fwmark: 43, table: 43, protocol: 110 },
    { family: 6, priority: 10000, fwmark: 43, table: 43, protocol: 110 },
  ],
  routes: [
    {
      family: 4,
      table: 43,
      dst: '0.0.0.0/0',
      dev: 'tun0',
      scope: 'universe',
      protocol: 110,
      type: 'unicast',
    },
    // failClosed (the default): the kill switch stays when tun0 and its route go away.
    {
      family: 4,
      table: 43,
      dst: '0.0.0.0/0',
      dev: '',
      scope: 'universe',
      protocol: 110,
      type: 'unreachable',
    },
    {
      family: 4,
      table: 43,
      dst: '198.18.0.0/24',
      dev: 'lan0',
      scope: 'link',
      protocol: 110,
      type: 'unicast',
    },
    { family: 6, table: 43, dst: '::/0', dev: 'tun0', scope: 'universe', protocol: 110, type: 'unicast' },
    { family: 6, table: 43, dst: '::/0', dev: '', scope: 'universe', protocol: 110, type: 'unreachable' },
    {
      family: 6,
      table: 43,
      dst: '2001:db8:1::/64',
      dev: 'lan0',
      scope: 'universe',
      protocol: 110,
      type: 'unicast',
    },
  ],
  cgroups: [
    { profile: 'unlocator', path: 'netcg/unlocator', hierarchy: 'net_cls', classid: 42 },
    { profile: 'vpn', path: 'netcg/vpn', hierarchy: 'net_cls', classid: 43 },
  ],
};

describe('compile', () => {
  it('compiles the seed into exactly the ruleset nft generates for docs/ruleset.md', () => {
    expect(compile(loadConfig('examples/seed.yaml'), FACTS)).toEqual(SEED);
  });

  it('is deterministic: the same input gives a deep-equal output', () => {
    const config = loadConfig('examples/seed.yaml');
    expect(compile(config, FACTS)).toEqual(compile(loadConfig('examples/seed.yaml'), structuredClone(FACTS)));
  });

  it('profiles sharing a via share one mark, one table, one ip rule per family, one set of routes and one masquerade rule', () => {
    const config = parseConfig(
      'profiles:\n  work: { classid: 51, route: { via: tun0 } }\n  browser: { classid: 50, route: { via: tun0 } }\n',
      'shared.yaml',
    );
    const state = compile(config, FACTS);
    expect(state.ipRules).toEqual([
      { family: 4, priority: 10000, fwmark: 50, table: 50, protocol: 110 },
      { family: 6, priority: 10000, fwmark: 50, table: 50, protocol: 110 },
    ]);
    expect(state.routes.map((r) => `${r.table} ${r.dst} ${r.dev}`)).toEqual([
      '50 0.0.0.0/0 tun0',
      '50 0.0.0.0/0 ',
      '50 198.18.0.0/24 lan0',
      '50 ::/0 tun0',
      '50 ::/0 ',
      '50 2001:db8:1::/64 lan0',
    ]);
    const postrouting = state.table.chains.find((c) => c.name === 'nat_postrouting')!;
    expect(postrouting.rules).toHaveLength(1);
    // Both chains set the same mark; the dispatch map jumps to each profile's own chain.
    expect(state.table.chains.map((c) => c.name)).toEqual([
      'route_output',
      'nat_postrouting',
      'filter_prerouting',
      'route_work',
      'route_browser',
    ]);
    expect(state.table.chains[3]!.rules[0]!.exprs[1]).toEqual({
      type: 'immediate',
      dreg: 1,
      data: hex('32000000'),
    });
    expect(state.table.chains[4]!.rules[0]!.exprs[1]).toEqual({
      type: 'immediate',
      dreg: 1,
      data: hex('32000000'),
    });
    expect(state.table.maps.map((m) => m.elements.map((e) => e.key.readUInt32LE(0)))).toEqual([[51, 50]]);
  });

  it('creates only the maps and base chains the profiles use', () => {
    const state = compile(parseConfig('profiles:\n  only6: { classid: 9, ipv6: reject }\n', 'x.yaml'), FACTS);
    expect(state.table.maps.map((m) => m.name)).toEqual(['ipv6_dispatch']);
    expect(state.table.chains.map((c) => c.name)).toEqual(['filter_output', 'ipv6_only6']);
    expect(state.ipRules).toEqual([]);
    expect(state.routes).toEqual([]);
  });

  it('an empty profiles mapping gives an empty table', () => {
    const state = compile(parseConfig('table: empty\nprofiles: {}\n', 'x.yaml'), FACTS);
    expect(state).toEqual({
      table: { family: 'inet', name: 'empty', maps: [], chains: [] },
      ipRules: [],
      routes: [],
      cgroups: [],
    });
  });

  it('a shared mark gets one connmark restore rule at prerouting', () => {
    const config = parseConfig(
      'profiles:\n  a: { classid: 51, route: { via: tun0 } }\n  b: { classid: 50, route: { via: tun0 } }\n',
      'x.yaml',
    );
    const prerouting = compile(config, FACTS).table.chains.find((c) => c.name === 'filter_prerouting')!;
    expect(prerouting.rules.map((r) => r.exprs[1])).toEqual([
      { type: 'cmp', sreg: 1, op: 'eq', data: hex('32000000') },
    ]);
  });

  it('failClosed: false leaves out the unreachable routes (and only them)', () => {
    const on = compile(parseConfig('profiles:\n  v: { classid: 7, route: { via: wg0 } }\n', 'x.yaml'), FACTS);
    const off = compile(
      parseConfig('profiles:\n  v: { classid: 7, route: { via: wg0, failClosed: false } }\n', 'x.yaml'),
      FACTS,
    );
    expect(
      on.routes
        .filter((r) => r.type === 'unreachable')
        .map((r) => `${r.family} ${r.dst} table ${r.table} dev '${r.dev}'`),
    ).toEqual(["4 0.0.0.0/0 table 7 dev ''", "6 ::/0 table 7 dev ''"]);
    expect(off.routes).toEqual(on.routes.filter((r) => r.type !== 'unreachable'));
    expect(off.table).toEqual(on.table);
  });

  it('honours copyLinkRoutes: false, masquerade: false, failClosed: false, explicit mark/table, ipRulePriority, cgroupParent and owner', () => {
    const state = compile(
      parseConfig(
        'cgroupParent: apps/net\nipRulePriority: 500\nprofiles:\n  v: { classid: 7, owner: md, route: { via: wg0, mark: 0x70, table: 700, copyLinkRoutes: false, masquerade: false, failClosed: false } }\n',
        'x.yaml',
      ),
      FACTS,
    );
    expect(state.routes).toEqual([
      {
        family: 4,
        table: 700,
        dst: '0.0.0.0/0',
        dev: 'wg0',
        scope: 'universe',
        protocol: 110,
        type: 'unicast',
      },
      { family: 6, table: 700, dst: '::/0', dev: 'wg0', scope: 'universe', protocol: 110, type: 'unicast' },
    ]);
    expect(state.ipRules).toEqual([
      { family: 4, priority: 500, fwmark: 0x70, table: 700, protocol: 110 },
      { family: 6, priority: 500, fwmark: 0x70, table: 700, protocol: 110 },
    ]);
    expect(state.table.chains.map((c) => c.name)).toEqual(['route_output', 'filter_prerouting', 'route_v']);
    expect(state.cgroups).toEqual([
      { profile: 'v', path: 'apps/net/v', hierarchy: 'net_cls', classid: 7, owner: 'md' },
    ]);
  });

  it('copies a destination only once when the host has it on two links', () => {
    const facts: HostFacts = {
      linkRoutes: [
        { family: 4, dst: '198.18.0.0/24', dev: 'lan0' },
        { family: 4, dst: '198.18.0.0/24', dev: 'lan1' },
      ],
    };
    const state = compile(
      parseConfig('profiles:\n  v: { classid: 7, route: { via: wg0 } }\n', 'x.yaml'),
      facts,
    );
    expect(state.routes.filter((r) => r.dst === '198.18.0.0/24').map((r) => r.dev)).toEqual(['lan0']);
  });
});
