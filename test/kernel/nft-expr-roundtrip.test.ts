// For each expression kind the addon encodes: encode, commit, dump, decode,
// and the decoded expressions must deep-equal what was sent. Each kind gets its
// own table in one throwaway namespace, in a chain whose hook the kernel accepts
// for that expression.
import { describe, expect, test } from 'vitest';

import type { Netns } from '../helpers/netns.js';
import { bytes, ifname, u32le, useNetnsHandle } from '../helpers/handle.js';
import type { Expr, NetlinkHandle, NftHook, NftOp } from '../../src/native/index.js';
import {
  IPPROTO_TCP,
  matchCtDnat,
  matchCtReply,
  matchSkuidNot,
  matchSport,
  matchTcpSyn,
} from '../../src/nft/index.js';

const b = bytes;

let ns: Netns;
let h: NetlinkHandle;
useNetnsHandle('ncrt', (made) => ({ ns, h } = made));

let tableSeq = 0;

/** Commits exprs as one rule in a fresh table and returns that rule's decoded exprs. */
function roundTrip(
  exprs: Expr[],
  hook: NftHook | undefined,
  extra: (table: string) => NftOp[] = () => [],
): readonly Expr[] {
  const table = `rt${tableSeq++}`;
  h.nftCommit([
    { verb: 'add', object: 'table', family: 'inet', name: table },
    ...extra(table),
    { verb: 'add', object: 'chain', family: 'inet', table, name: 'c', ...(hook ? { hook } : {}) },
    { verb: 'add', object: 'rule', family: 'inet', table, chain: 'c', exprs },
  ]);
  const dump = h.nftDump({ family: 'inet', table });
  const rules = dump.rules.filter((r) => r.chain === 'c');
  expect(rules).toHaveLength(1);
  return rules[0]!.exprs;
}

const filterOut: NftHook = { type: 'filter', hook: 'output', priority: 0, policy: 'accept' };
const filterPre: NftHook = { type: 'filter', hook: 'prerouting', priority: 0, policy: 'accept' };
const routeOut: NftHook = { type: 'route', hook: 'output', priority: -150, policy: 'accept' };
const natOut: NftHook = { type: 'nat', hook: 'output', priority: -100, policy: 'accept' };
const natPost: NftHook = { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' };

// One case per kind (and per variant of a kind); each list is a valid rule.
// What nft sends for `map m { typeof meta cgroup : verdict; }` (its userdata
// carries the `typeof` so `nft list` can print it).
const cgroupVmapUserdata = Buffer.from(
  '000401000000010400000000030e000409000000010600041700000004080004010000000100060400000000',
  'hex',
);

const cases: Array<{ name: string; hook?: NftHook; exprs: Expr[]; extra?: (t: string) => NftOp[] }> = [
  {
    name: 'meta (load) + cmp eq',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x11) },
    ],
  },
  {
    name: 'meta (set mark) from immediate data',
    hook: routeOut,
    exprs: [
      { type: 'immediate', dreg: 1, data: u32le(43) },
      { type: 'meta', key: 'mark', sreg: 1 },
    ],
  },
  {
    name: 'cmp ops neq/lt/lte/gt/gte',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'neq', data: u32le(1) },
      { type: 'cmp', sreg: 1, op: 'lt', data: u32le(100) },
      { type: 'cmp', sreg: 1, op: 'lte', data: u32le(99) },
      { type: 'cmp', sreg: 1, op: 'gt', data: u32le(2) },
      { type: 'cmp', sreg: 1, op: 'gte', data: u32le(3) },
    ],
  },
  {
    name: 'payload (transport dport) + oifname cmp',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(17) },
      { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x00, 0x35) },
      { type: 'meta', key: 'oifname', dreg: 2 },
      { type: 'cmp', sreg: 2, op: 'eq', data: ifname('tun0') },
      { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 9 }, // NFT_REG32_01
      { type: 'payload', base: 'll', offset: 0, len: 6, dreg: 3 },
    ],
  },
  {
    name: 'immediate verdicts (accept, drop, return, jump)',
    hook: undefined,
    exprs: [{ type: 'immediate', dreg: 0, verdict: { code: 'jump', chain: 'other' } }],
    extra: (table) => [{ verb: 'add', object: 'chain', family: 'inet', table, name: 'other' }],
  },
  {
    name: 'immediate verdict goto',
    hook: undefined,
    exprs: [{ type: 'immediate', dreg: 0, verdict: { code: 'goto', chain: 'other' } }],
    extra: (table) => [{ verb: 'add', object: 'chain', family: 'inet', table, name: 'other' }],
  },
  {
    name: 'immediate verdict drop',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(0xdead) },
      { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
    ],
  },
  {
    name: 'immediate verdict return',
    hook: undefined,
    exprs: [{ type: 'immediate', dreg: 0, verdict: { code: 'return' } }],
  },
  {
    name: 'immediate verdict accept',
    hook: filterOut,
    exprs: [{ type: 'immediate', dreg: 0, verdict: { code: 'accept' } }],
  },
  {
    name: 'dns.server: tcp sport, tcp flags syn (1-byte bitwise), ct direction, ct status & dnat, meta skuid !=',
    hook: filterOut,
    exprs: [
      ...matchSport(IPPROTO_TCP, 5354),
      ...matchTcpSyn(),
      ...matchCtReply(),
      ...matchCtDnat(),
      ...matchSkuidNot(65534),
    ],
  },
  {
    name: 'bitwise',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: b(0xff, 0xff, 0, 0), xor: b(0, 0, 0, 0) },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x2b, 0, 0, 0) },
    ],
  },
  {
    name: 'lookup (set membership, inverted)',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'cgroup', dreg: 1 },
      { type: 'lookup', sreg: 1, set: 'cg', invert: true },
    ],
    extra: (table) => [
      { verb: 'add', object: 'set', family: 'inet', table, name: 'cg', keyType: 0, keyLen: 4 },
      { verb: 'add', object: 'element', family: 'inet', table, set: 'cg', elements: [{ key: u32le(42) }] },
    ],
  },
  {
    name: 'lookup (verdict map, dreg 0)',
    hook: filterOut,
    exprs: [
      { type: 'counter', packets: 0, bytes: 0 },
      { type: 'meta', key: 'cgroup', dreg: 1 },
      { type: 'lookup', sreg: 1, set: 'dispatch', dreg: 0 },
    ],
    extra: (table) => [
      { verb: 'add', object: 'chain', family: 'inet', table, name: 'p' },
      {
        verb: 'add',
        object: 'set',
        family: 'inet',
        table,
        name: 'dispatch',
        flags: 0x8,
        keyType: 4,
        keyLen: 4,
        dataType: 0xffffff00,
        dataLen: 16,
        userdata: cgroupVmapUserdata,
      },
      {
        verb: 'add',
        object: 'element',
        family: 'inet',
        table,
        set: 'dispatch',
        elements: [{ key: u32le(42), verdict: { code: 'jump', chain: 'p' } }],
      },
    ],
  },
  {
    name: 'counter with initial values',
    hook: undefined,
    exprs: [{ type: 'counter', packets: 7, bytes: 1234567890123 }],
  },
  {
    name: 'redir to a port from a register (the DNS rule)',
    hook: natOut,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x11) },
      { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x00, 0x35) },
      { type: 'counter', packets: 0, bytes: 0 },
      { type: 'immediate', dreg: 1, data: b(0x14, 0xea) },
      { type: 'redir', regProtoMin: 1, regProtoMax: 1, flags: 2 },
    ],
  },
  { name: 'redir bare', hook: natOut, exprs: [{ type: 'redir' }] },
  {
    name: 'masq bare (the VPN rule)',
    hook: natPost,
    exprs: [
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(43) },
      { type: 'meta', key: 'oifname', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: ifname('tun0') },
      { type: 'counter', packets: 0, bytes: 0 },
      { type: 'masq' },
    ],
  },
  {
    name: 'masq random with ports',
    hook: natPost,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(6) },
      { type: 'immediate', dreg: 1, data: b(0x03, 0xe8) },
      { type: 'immediate', dreg: 2, data: b(0x07, 0xd0) },
      { type: 'masq', regProtoMin: 1, regProtoMax: 2, flags: 0x6 },
    ],
  },
  {
    name: 'reject icmpx port-unreachable',
    hook: filterOut,
    exprs: [
      { type: 'counter', packets: 0, bytes: 0 },
      { type: 'reject', rejectType: 2, code: 1 },
    ],
  },
  {
    name: 'reject tcp reset',
    hook: filterOut,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(6) },
      { type: 'reject', rejectType: 1, code: 0 },
    ],
  },
  {
    name: 'ct load state/direction/status/mark',
    hook: filterOut,
    exprs: [
      { type: 'ct', key: 'state', dreg: 1 },
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: u32le(2), xor: u32le(0) },
      { type: 'cmp', sreg: 1, op: 'neq', data: u32le(0) },
      { type: 'ct', key: 'direction', dreg: 2 },
      { type: 'ct', key: 'status', dreg: 3 },
      { type: 'ct', key: 'mark', dreg: 4 },
    ],
  },
  {
    name: 'ct set mark',
    hook: filterOut,
    exprs: [
      { type: 'immediate', dreg: 1, data: u32le(1) },
      { type: 'ct', key: 'mark', sreg: 1 },
    ],
  },
  {
    name: 'socket transparent/mark/wildcard',
    hook: filterPre,
    exprs: [
      { type: 'socket', key: 'transparent', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(1) },
      { type: 'socket', key: 'mark', dreg: 2 },
      { type: 'socket', key: 'wildcard', dreg: 3 },
    ],
  },
  {
    name: 'socket cgroupv2 with level',
    hook: filterOut,
    exprs: [
      { type: 'socket', key: 'cgroupv2', level: 2, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(1, 2, 3, 4, 5, 6, 7, 8) },
    ],
  },
  {
    name: 'fib daddr type',
    hook: filterPre,
    exprs: [
      { type: 'fib', flags: 1, result: 3, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(2) },
    ],
  },
  {
    name: 'fib daddr type != local (the proxy rule) and accept/return verdicts',
    hook: natOut,
    exprs: [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(6) },
      { type: 'fib', flags: 2, result: 3, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'neq', data: u32le(2) },
      { type: 'counter', packets: 0, bytes: 0 },
      { type: 'immediate', dreg: 1, data: b(0x23, 0x50) },
      { type: 'redir', regProtoMin: 1, regProtoMax: 1, flags: 2 },
    ],
  },
  {
    name: 'fib saddr . iif oif',
    hook: filterPre,
    exprs: [
      { type: 'fib', flags: 2 | 8, result: 1, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(0) },
      { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
    ],
  },
];

describe('expression round trip: encode, commit, dump, decode, equal', () => {
  for (const c of cases) {
    test(c.name, () => {
      expect(roundTrip(c.exprs, c.hook, c.extra)).toEqual(c.exprs);
    });
  }

  test('every kind the addon encodes is covered', () => {
    const kinds = new Set(cases.flatMap((c) => c.exprs.map((e) => e.type)));
    expect([...kinds].sort()).toEqual([
      'bitwise',
      'cmp',
      'counter',
      'ct',
      'fib',
      'immediate',
      'lookup',
      'masq',
      'meta',
      'payload',
      'redir',
      'reject',
      'socket',
    ]);
  });
});

describe('what nft itself reads back', () => {
  test('the DNS redirect rule prints as `udp dport 53 ... redirect to :5354`', () => {
    const dns = cases.find((c) => c.name.startsWith('redir to a port'))!;
    const table = `rt${tableSeq}`;
    roundTrip(dns.exprs, dns.hook);
    const text = ns.nft('list', 'table', 'inet', table);
    expect(text).toMatch(/udp dport 53 counter packets 0 bytes 0 redirect to :5354/);
  });

  test('the masquerade and mark rules print as a person would write them', () => {
    const masq = cases.find((c) => c.name.startsWith('masq bare'))!;
    const t1 = `rt${tableSeq}`;
    roundTrip(masq.exprs, masq.hook);
    expect(ns.nft('list', 'table', 'inet', t1)).toMatch(
      /meta mark 0x0000002b oifname "tun0" counter packets 0 bytes 0 masquerade/,
    );

    const mark = cases.find((c) => c.name.startsWith('meta (set mark)'))!;
    const t2 = `rt${tableSeq}`;
    roundTrip(mark.exprs, mark.hook);
    expect(ns.nft('list', 'table', 'inet', t2)).toMatch(/meta mark set 0x0000002b/);
  });

  test('the verdict-map dispatch prints as `meta cgroup vmap @dispatch`', () => {
    const vmap = cases.find((c) => c.name.startsWith('lookup (verdict map'))!;
    const table = `rt${tableSeq}`;
    roundTrip(vmap.exprs, vmap.hook, vmap.extra);
    const text = ns.nft('list', 'table', 'inet', table);
    expect(text).toMatch(/counter packets 0 bytes 0 meta cgroup vmap @dispatch/);
    expect(text).toMatch(/map dispatch \{\s+typeof meta cgroup : verdict\s+elements = \{ 42 : jump p \}/);
  });
});

describe('what nft reads back for the offline and proxy rules (issue 11)', () => {
  test('`fib daddr type != local ... redirect to :9040` and `fib daddr type local accept`', () => {
    const proxy = cases.find((c) => c.name.startsWith('fib daddr type != local'))!;
    const t1 = `rt${tableSeq}`;
    roundTrip(proxy.exprs, proxy.hook);
    expect(ns.nft('list', 'table', 'inet', t1)).toMatch(
      /meta l4proto tcp fib daddr type != local counter packets 0 bytes 0 redirect to :9040/,
    );
    const t2 = `rt${tableSeq}`;
    const accept: Expr[] = [
      { type: 'fib', flags: 2, result: 3, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(2) },
      { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
    ];
    expect(roundTrip(accept, filterOut)).toEqual(accept);
    expect(ns.nft('list', 'table', 'inet', t2)).toMatch(/fib daddr type local accept/);
  });
});

describe('expressions the addon does not model', () => {
  test('decode as { type, unknown: true } and the rest of the rule still decodes', () => {
    ns.run(
      'nft',
      ['-f', '-'],
      'table inet foreign {\n chain c {\n  limit rate 10/second counter packets 0 bytes 0 accept\n }\n}\n',
    );
    const rules = h.nftDump({ table: 'foreign' }).rules;
    expect(rules.map((r) => r.exprs)).toEqual([
      [
        { type: 'limit', unknown: true },
        { type: 'counter', packets: 0, bytes: 0 },
        { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
      ],
    ]);
  });

  test('a 32-bit register aligned with a 128-bit one dumps as the 128-bit number (kernel canonical form)', () => {
    const got = roundTrip(
      [
        { type: 'meta', key: 'mark', dreg: 8 },
        { type: 'cmp', sreg: 8, op: 'eq', data: u32le(1) },
      ],
      filterOut,
    );
    expect(got).toEqual([
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: u32le(1) },
    ]);
  });

  test('malformed input is refused before anything is sent, naming the field', () => {
    const before = h.nftGenid();
    expect(() =>
      h.nftCommit([
        { verb: 'add', object: 'table', family: 'inet', name: 'never' },
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 'never',
          chain: 'c',
          exprs: [{ type: 'meta', key: 'nope' as 'mark', dreg: 1 }],
        },
      ]),
    ).toThrow(expect.objectContaining({ code: 'EINVAL', path: 'ops[1].exprs[0].key' }));
    expect(h.nftGenid()).toBe(before);
    expect(h.nftDump({ table: 'never' }).tables).toEqual([]);
  });
});
