import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { loadConfig } from '../../src/config/index.js';
import { NetcgError } from '../../src/shared/errors.js';
import type { Expr, HostFacts, TableState } from '../../src/shared/model.js';
import {
  renderIpBatch,
  renderIpBatches,
  renderNftDelete,
  renderNftScript,
  ruleText,
  type IpOp,
} from '../../src/render/index.js';

const FACTS: HostFacts = {
  linkRoutes: [
    { family: 4, dst: '198.18.0.0/24', dev: 'lan0' },
    { family: 6, dst: '2001:db8:1::/64', dev: 'lan0' },
  ],
};

describe('renderNftScript', () => {
  it('renders the seed as one atomic table replacement, objects in netlink order', () => {
    // Loaded with `nft -f` this lists exactly as docs/ruleset.md shows.
    expect(renderNftScript(compile(loadConfig('examples/seed.yaml'), FACTS))).toBe(
      [
        'add table inet netcg',
        'delete table inet netcg',
        'add table inet netcg',
        'add map inet netcg dns_dispatch { typeof meta cgroup : verdict; }',
        'add map inet netcg ipv6_dispatch { typeof meta cgroup : verdict; }',
        'add map inet netcg route_dispatch { typeof meta cgroup : verdict; }',
        'add chain inet netcg nat_output { type nat hook output priority -100; policy accept; }',
        'add chain inet netcg filter_dnsreply { type filter hook output priority 0; policy accept; }',
        'add chain inet netcg route_output { type route hook output priority -150; policy accept; }',
        'add chain inet netcg filter_output { type filter hook output priority 0; policy accept; }',
        'add chain inet netcg nat_postrouting { type nat hook postrouting priority 100; policy accept; }',
        'add chain inet netcg filter_prerouting { type filter hook prerouting priority -150; policy accept; }',
        'add chain inet netcg dns_unlocator',
        'add chain inet netcg ipv6_unlocator',
        'add chain inet netcg route_vpn',
        'add element inet netcg dns_dispatch { 42 : jump dns_unlocator }',
        'add element inet netcg ipv6_dispatch { 42 : jump ipv6_unlocator }',
        'add element inet netcg route_dispatch { 43 : jump route_vpn }',
        'add rule inet netcg nat_output counter meta cgroup vmap @dns_dispatch',
        'add rule inet netcg filter_dnsreply udp sport 5354 ct direction reply ct status dnat meta skuid != 0 counter drop',
        'add rule inet netcg filter_dnsreply tcp sport 5354 tcp flags syn ct direction reply ct status dnat meta skuid != 0 counter drop',
        'add rule inet netcg route_output counter meta cgroup vmap @route_dispatch',
        'add rule inet netcg filter_output meta nfproto ipv6 counter meta cgroup vmap @ipv6_dispatch',
        'add rule inet netcg nat_postrouting meta mark 0x0000002b oifname "tun0" counter masquerade',
        'add rule inet netcg filter_prerouting ct mark 0x0000002b counter meta mark set ct mark',
        'add rule inet netcg dns_unlocator udp dport 53 counter redirect to :5354',
        'add rule inet netcg dns_unlocator tcp dport 53 counter redirect to :5354',
        'add rule inet netcg ipv6_unlocator counter reject',
        'add rule inet netcg route_vpn counter meta mark set 0x0000002b ct mark set meta mark',
        '',
      ].join('\n'),
    );
  });

  it('refuses a map that is neither typeof meta cgroup nor typeof socket cgroupv2', () => {
    const table: TableState = {
      family: 'inet',
      name: 't',
      maps: [
        { name: 'm', flags: 0x8, keyType: 7, keyLen: 4, dataType: 0xffffff00, dataLen: 16, elements: [] },
      ],
      chains: [],
    };
    expect(() => renderNftScript({ table, ipRules: [], routes: [], cgroups: [] })).toThrow(
      /map m is neither a "typeof meta cgroup" nor a "typeof socket cgroupv2" verdict map/,
    );
  });
});

describe('ruleText (the decompiler)', () => {
  it('reads every sequence netcg compiles', () => {
    const table = compile(loadConfig('examples/seed.yaml'), FACTS).table;
    expect(table.chains.flatMap((c) => c.rules.map((r) => ruleText(r.exprs)))).toEqual([
      'counter meta cgroup vmap @dns_dispatch',
      'udp sport 5354 ct direction reply ct status dnat meta skuid != 0 counter drop',
      'tcp sport 5354 tcp flags syn ct direction reply ct status dnat meta skuid != 0 counter drop',
      'counter meta cgroup vmap @route_dispatch',
      'meta nfproto ipv6 counter meta cgroup vmap @ipv6_dispatch',
      'meta mark 0x0000002b oifname "tun0" counter masquerade',
      'ct mark 0x0000002b counter meta mark set ct mark',
      'udp dport 53 counter redirect to :5354',
      'tcp dport 53 counter redirect to :5354',
      'counter reject',
      'counter meta mark set 0x0000002b ct mark set meta mark',
    ]);
  });

  it('throws on anything else rather than guess', () => {
    const cases: Expr[][] = [
      [{ type: 'ct', key: 'state', dreg: 1 }],
      [
        { type: 'meta', key: 'skuid', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.alloc(4) },
      ],
      [
        { type: 'meta', key: 'mark', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'neq', data: Buffer.alloc(4) },
      ],
      [{ type: 'meta', key: 'mark', dreg: 1 }],
      [
        { type: 'meta', key: 'cgroup', dreg: 1 },
        { type: 'lookup', sreg: 1, set: 's' },
      ],
      [
        { type: 'immediate', dreg: 1, data: Buffer.from([0, 53]) },
        { type: 'redir', regProtoMin: 2, regProtoMax: 2, flags: 2 },
      ],
      [{ type: 'reject', rejectType: 0, code: 3 }],
      [
        { type: 'meta', key: 'oifname', dreg: 1 },
        { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.from('tun0') },
      ],
    ];
    for (const exprs of cases) expect(() => ruleText(exprs), JSON.stringify(exprs)).toThrow(NetcgError);
  });
});

describe('renderNftDelete', () => {
  it('deletes the table whether or not it exists', () => {
    expect(renderNftDelete('netcg')).toBe('add table inet netcg\ndelete table inet netcg\n');
  });
});

describe('ip batches', () => {
  const state = compile(loadConfig('examples/seed.yaml'), FACTS);
  const adds: IpOp[] = [
    ...state.routes.map((route): IpOp => ({ verb: 'add', kind: 'route', route })),
    ...state.ipRules.map((rule): IpOp => ({ verb: 'add', kind: 'rule', rule })),
  ];

  it('renders rules and routes of one family as `ip -batch` lines', () => {
    expect(
      renderIpBatch(adds.filter((op) => (op.kind === 'rule' ? op.rule.family : op.route.family) === 4)),
    ).toBe(
      [
        'route add default dev tun0 table 43 proto 110 scope global',
        'route add unreachable default table 43 proto 110 scope global metric 4294967295',
        'route add 198.18.0.0/24 dev lan0 table 43 proto 110 scope link',
        'rule add priority 10000 fwmark 0x2b table 43 protocol 110',
        '',
      ].join('\n'),
    );
    expect(renderIpBatch([{ verb: 'del', kind: 'rule', rule: { ...state.ipRules[1]!, fwmask: 0xff } }])).toBe(
      'rule del priority 10000 fwmark 0x2b/0xff table 43 protocol 110\n',
    );
    expect(
      renderIpBatch([
        { verb: 'add', kind: 'route', route: { ...state.routes[0]!, type: 'unreachable', dev: '' } },
      ]),
    ).toBe('route add unreachable default table 43 proto 110 scope global metric 4294967295\n');
  });

  it('refuses to mix families in one batch (iproute2 batch lines cannot carry -4/-6)', () => {
    expect(() => renderIpBatch(adds)).toThrow(/cannot go in an IPv4 ip batch/);
  });

  it('splits ops into per-family ip invocations, keeping their order', () => {
    expect(renderIpBatches(adds)).toEqual([
      {
        family: 4,
        args: ['-4', '-batch', '-'],
        input:
          'route add default dev tun0 table 43 proto 110 scope global\nroute add unreachable default table 43 proto 110 scope global metric 4294967295\nroute add 198.18.0.0/24 dev lan0 table 43 proto 110 scope link\n',
      },
      {
        family: 6,
        args: ['-6', '-batch', '-'],
        input:
          'route add default dev tun0 table 43 proto 110 scope global\nroute add unreachable default table 43 proto 110 scope global metric 4294967295\nroute add 2001:db8:1::/64 dev lan0 table 43 proto 110 scope global\n',
      },
      {
        family: 4,
        args: ['-4', '-batch', '-'],
        input: 'rule add priority 10000 fwmark 0x2b table 43 protocol 110\n',
      },
      {
        family: 6,
        args: ['-6', '-batch', '-'],
        input: 'rule add priority 10000 fwmark 0x2b table 43 protocol 110\n',
      },
    ]);
  });
});
