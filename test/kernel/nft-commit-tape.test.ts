// nftCommit with the ops encoded as an op tape (src/native/optape.ts) against the
// real kernel, in a throwaway namespace: the tape must be a pure speed-up, so each
// test runs the same ops both ways (plain objects and tape) and requires the same
// kernel state, the same failing op, and the same input error.
import { describe, expect, test } from 'vitest';

import type { Netns } from '../helpers/netns.js';
import { bytes, ifname, u32le, caught, useNetnsHandle } from '../helpers/handle.js';
import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { replaceTableOps } from '../../src/backends/netlink.js';
import { encodeOps } from '../../src/native/optape.js';
import type { Expr, NetlinkHandle, NftDump, NftHook, NftOp } from '../../src/native/index.js';

const b = bytes;

let ns: Netns;
let h: NetlinkHandle;
useNetnsHandle('nctp', (made) => ({ ns, h } = made));

type Mode = 'objects' | 'tape';
const modes: Mode[] = ['objects', 'tape'];

function commit(mode: Mode, ops: NftOp[], genid?: number): void {
  const opts = genid === undefined ? {} : { genid };
  if (mode === 'tape') h.nftCommit(encodeOps(ops), opts);
  else h.nftCommit(ops, opts);
}

/** A dump with the kernel-chosen handles removed, so two tables can be compared. */
function contentOf(table: string): unknown {
  const d: NftDump = h.nftDump({ family: 'inet', table });
  const strip = <T extends { handle?: number }>(x: T) => {
    const { handle: _, ...rest } = x;
    return rest;
  };
  return {
    tables: d.tables.map((t) => ({ ...strip(t), name: 'T' })),
    chains: d.chains.map((c) => ({ ...strip(c), table: 'T' })),
    rules: d.rules.map((r) => ({ ...strip(r), table: 'T' })),
    // A hash set dumps its elements in no fixed order.
    sets: d.sets.map((s) => ({
      ...strip(s),
      table: 'T',
      elements: [...s.elements].sort((x, y) => Buffer.compare(x.key, y.key)),
    })),
  };
}

const filterOut: NftHook = { type: 'filter', hook: 'output', priority: 0, policy: 'accept' };
const filterPre: NftHook = { type: 'filter', hook: 'prerouting', priority: 0, policy: 'accept' };
const natOut: NftHook = { type: 'nat', hook: 'output', priority: -100, policy: 'accept' };
const natPost: NftHook = { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' };

/** Every expression kind and variant the addon encodes, in one table. */
function everyKind(table: string): NftOp[] {
  const base = { family: 'inet', table } as const;
  const rule = (chain: string, exprs: Expr[]): NftOp => ({
    verb: 'add',
    object: 'rule',
    ...base,
    chain,
    exprs,
  });
  return [
    { verb: 'add', object: 'table', family: 'inet', name: table },
    { verb: 'add', object: 'set', ...base, name: 'cg', flags: 0, keyType: 0, keyLen: 4 },
    {
      verb: 'add',
      object: 'set',
      ...base,
      name: 'dispatch',
      flags: 0x8,
      keyType: 0,
      keyLen: 4,
      dataType: 0xffffff00,
      dataLen: 0,
    },
    { verb: 'add', object: 'chain', ...base, name: 'other' },
    { verb: 'add', object: 'chain', ...base, name: 'out', hook: filterOut },
    { verb: 'add', object: 'chain', ...base, name: 'pre', hook: filterPre },
    { verb: 'add', object: 'chain', ...base, name: 'nat', hook: natOut },
    { verb: 'add', object: 'chain', ...base, name: 'post', hook: natPost },
    { verb: 'add', object: 'element', ...base, set: 'cg', elements: [{ key: u32le(7) }, { key: u32le(8) }] },
    {
      verb: 'add',
      object: 'element',
      ...base,
      set: 'dispatch',
      elements: [
        { key: u32le(1000), verdict: { code: 'jump', chain: 'other' } },
        { key: u32le(1001), verdict: { code: 'drop' } },
      ],
    },
    rule('out', [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(0x11) },
      { type: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'neq', data: b(0x00, 0x35) },
      { type: 'meta', key: 'oifname', dreg: 2 },
      { type: 'cmp', sreg: 2, op: 'eq', data: ifname('tun0') },
      { type: 'counter', packets: 7, bytes: 1234567890123 },
      { type: 'immediate', dreg: 0, verdict: { code: 'jump', chain: 'other' } },
    ]),
    rule('out', [
      { type: 'meta', key: 'mark', dreg: 1 },
      { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: b(0xff, 0xff, 0, 0), xor: b(0, 0, 0, 0) },
      { type: 'cmp', sreg: 1, op: 'gte', data: b(0x2b, 0, 0, 0) },
      { type: 'immediate', dreg: 1, data: u32le(43) },
      { type: 'meta', key: 'mark', sreg: 1 },
    ]),
    rule('out', [
      { type: 'meta', key: 'cgroup', dreg: 1 },
      { type: 'lookup', sreg: 1, set: 'cg', invert: true },
      { type: 'reject', rejectType: 2, code: 1 },
    ]),
    rule('out', [
      { type: 'meta', key: 'cgroup', dreg: 1 },
      { type: 'lookup', sreg: 1, set: 'dispatch', dreg: 0 },
    ]),
    rule('out', [
      { type: 'ct', key: 'state', dreg: 1 },
      { type: 'ct', key: 'mark', dreg: 2 },
      { type: 'immediate', dreg: 1, data: u32le(1) },
      { type: 'ct', key: 'mark', sreg: 1 },
    ]),
    rule('out', [
      { type: 'socket', key: 'cgroupv2', level: 2, dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(1, 2, 3, 4, 5, 6, 7, 8) },
    ]),
    rule('pre', [
      { type: 'socket', key: 'transparent', dreg: 1 },
      { type: 'fib', flags: 2 | 8, result: 1, dreg: 2 },
      { type: 'immediate', dreg: 0, verdict: { code: 'drop' } },
    ]),
    rule('nat', [
      { type: 'immediate', dreg: 1, data: b(0x14, 0xea) },
      { type: 'redir', regProtoMin: 1, regProtoMax: 1, flags: 2 },
    ]),
    rule('nat', [{ type: 'redir' }]),
    rule('post', [
      { type: 'meta', key: 'l4proto', dreg: 1 },
      { type: 'cmp', sreg: 1, op: 'eq', data: b(6) },
      { type: 'immediate', dreg: 1, data: b(0x03, 0xe8) },
      { type: 'masq', regProtoMin: 1, regProtoMax: 1, flags: 0x6 },
    ]),
    rule('post', [{ type: 'masq' }]),
    rule('other', [{ type: 'immediate', dreg: 0, verdict: { code: 'return' } }]),
    {
      verb: 'add',
      object: 'rule',
      ...base,
      chain: 'other',
      exprs: [{ type: 'counter', packets: 0, bytes: 0 }],
      userdata: b(1, 2, 3),
    },
  ];
}

describe('the same kernel state either way', () => {
  test('every expression kind, sets, verdict maps, hooks and userdata', () => {
    commit('objects', everyKind('viaobjects'));
    commit('tape', everyKind('viatape'));
    const objects = contentOf('viaobjects');
    expect((objects as { rules: unknown[] }).rules).toHaveLength(13);
    expect(contentOf('viatape')).toEqual(objects);
    commit('tape', [
      { verb: 'delete', object: 'table', family: 'inet', name: 'viatape' },
      { verb: 'delete', object: 'table', family: 'inet', name: 'viaobjects' },
    ]);
    expect(ns.nft('list', 'ruleset')).toBe('');
  });

  test("netcg's own table for 200 profiles (the benchmark's shape), genid-guarded", () => {
    const profiles: Record<string, unknown> = {};
    for (let i = 0; i < 200; i++)
      profiles[`p${i}`] = {
        classid: 1000 + i,
        dns: { redirect: 5354 },
        ipv6: 'reject',
        route: { via: 'tun0' },
      };
    const config = parseConfig(JSON.stringify({ table: 'netcg', profiles }), 'tape.json');
    const desired = compile(config, { linkRoutes: [] });
    const listings: string[] = [];
    for (const mode of modes) {
      commit(mode, replaceTableOps(desired.table), h.nftGenid());
      listings.push(ns.nft('list', 'table', 'inet', 'netcg'));
      commit(mode, [{ verb: 'delete', object: 'table', family: 'inet', name: 'netcg' }]);
    }
    expect(listings[0]).toContain('p199');
    expect(listings[1]).toBe(listings[0]);
  });
});

describe('the same failures either way', () => {
  test.each(modes)('%s: a failing op is named by index and object; nothing is applied', (mode) => {
    const ops: NftOp[] = [
      { verb: 'add', object: 'table', family: 'inet', name: 'half' },
      { verb: 'add', object: 'chain', family: 'inet', table: 'half', name: 'c' },
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'half',
        chain: 'missing',
        exprs: [{ type: 'counter', packets: 0, bytes: 0 }],
      },
      { verb: 'add', object: 'chain', family: 'inet', table: 'half', name: 'd' },
    ];
    const genBefore = h.nftGenid();
    const err = caught(() => commit(mode, ops));
    expect(err).toMatchObject({
      code: 'ENOENT',
      errno: 2,
      op: 'nft.commit',
      index: 2,
      extAckOffset: 16 + 4 + 12,
    });
    expect(err.object).toBe(ops[2]);
    expect(ns.nft('list', 'ruleset')).toBe('');
    expect(h.nftGenid()).toBe(genBefore);
  });

  test.each(modes)('%s: the last op failing, and a duplicate create, are reported', (mode) => {
    commit(mode, [{ verb: 'add', object: 'table', family: 'inet', name: 'dup' }]);
    const last = caught(() =>
      commit(mode, [
        { verb: 'add', object: 'chain', family: 'inet', table: 'dup', name: 'ok' },
        { verb: 'create', object: 'table', family: 'inet', name: 'dup' },
      ]),
    );
    expect(last).toMatchObject({ code: 'EEXIST', index: 1 });
    expect(h.nftDump({ family: 'inet', table: 'dup' }).chains).toEqual([]);
    commit(mode, [{ verb: 'delete', object: 'table', family: 'inet', name: 'dup' }]);
  });

  test.each(modes)('%s: a stale generation id refuses the whole batch (ERESTART)', (mode) => {
    const gen = h.nftGenid();
    commit(mode, [{ verb: 'add', object: 'table', family: 'inet', name: 'moved' }]);
    const err = caught(() =>
      commit(mode, [{ verb: 'add', object: 'table', family: 'inet', name: 'stale' }], gen),
    );
    expect(err.code).toBe('ERESTART');
    expect(err.index).toBeUndefined();
    expect(ns.nft('list', 'tables')).not.toContain('stale');
    commit(mode, [{ verb: 'delete', object: 'table', family: 'inet', name: 'moved' }], h.nftGenid());
  });

  // Malformed input: the same path and message from the tape as from the objects.
  const bad: Array<[string, unknown[]]> = [
    ['unknown verb', [{ verb: 'make', object: 'table', family: 'inet', name: 't' }]],
    ['missing name', [{ verb: 'add', object: 'table', family: 'inet' }]],
    ['name not a string', [{ verb: 'add', object: 'table', family: 'inet', name: 5 }]],
    ['bad family', [{ verb: 'add', object: 'table', family: 'inet6', name: 't' }]],
    ['op not an object', [{ verb: 'add', object: 'table', family: 'inet', name: 't' }, 'x']],
    [
      'bad priority',
      [
        {
          verb: 'add',
          object: 'chain',
          family: 'inet',
          table: 't',
          name: 'c',
          hook: { type: 'filter', hook: 'output', priority: 1.5 },
        },
      ],
    ],
    [
      'priority out of range',
      [
        {
          verb: 'add',
          object: 'chain',
          family: 'inet',
          table: 't',
          name: 'c',
          hook: { type: 'filter', hook: 'output', priority: -3e9 },
        },
      ],
    ],
    ['negative flags', [{ verb: 'add', object: 'table', family: 'inet', name: 't', flags: -1 }]],
    [
      'expr not an object',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'counter' }, 3],
        },
      ],
    ],
    [
      'unknown expression',
      [{ verb: 'add', object: 'rule', family: 'inet', table: 't', chain: 'c', exprs: [{ type: 'nope' }] }],
    ],
    [
      'unknown meta key',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'meta', key: 'colour', dreg: 1 }],
        },
      ],
    ],
    [
      'register out of range',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'meta', key: 'mark', dreg: 99 }],
        },
      ],
    ],
    [
      'data not bytes',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'cmp', sreg: 1, op: 'eq', data: [1, 2] }],
        },
      ],
    ],
    [
      'data as Uint16Array',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'cmp', sreg: 1, op: 'eq', data: new Uint16Array(2) }],
        },
      ],
    ],
    [
      'empty data',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'cmp', sreg: 1, op: 'eq', data: b() }],
        },
      ],
    ],
    [
      'bad verdict',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'immediate', dreg: 0, verdict: { code: 'jump' } }],
        },
      ],
    ],
    [
      'invert not a boolean',
      [
        {
          verb: 'add',
          object: 'rule',
          family: 'inet',
          table: 't',
          chain: 'c',
          exprs: [{ type: 'lookup', sreg: 1, set: 's', invert: 1 }],
        },
      ],
    ],
    [
      'handle on add',
      [{ verb: 'add', object: 'rule', family: 'inet', table: 't', chain: 'c', exprs: [], handle: 4 }],
    ],
    [
      'negative bigint handle',
      [{ verb: 'delete', object: 'rule', family: 'inet', table: 't', chain: 'c', handle: -4n }],
    ],
    [
      'exprs not an array',
      [{ verb: 'add', object: 'rule', family: 'inet', table: 't', chain: 'c', exprs: { type: 'counter' } }],
    ],
    [
      'element without key',
      [
        {
          verb: 'add',
          object: 'element',
          family: 'inet',
          table: 't',
          set: 's',
          elements: [{ key: u32le(1) }, { data: u32le(1) }],
        },
      ],
    ],
    [
      'element with data and verdict',
      [
        {
          verb: 'add',
          object: 'element',
          family: 'inet',
          table: 't',
          set: 's',
          elements: [{ key: u32le(1), data: u32le(2), verdict: { code: 'drop' } }],
        },
      ],
    ],
  ];
  test.each(bad)('input error, %s: same path and message, nothing sent', (_name, ops) => {
    const genBefore = h.nftGenid();
    const viaObjects = caught(() => h.nftCommit(ops as NftOp[]));
    const viaTape = caught(() => h.nftCommit(encodeOps(ops as NftOp[])));
    expect(viaObjects.code).toBe('EINVAL');
    expect(viaObjects.path).toMatch(/^ops\[\d+\]/);
    expect({ path: viaTape.path, message: viaTape.message, code: viaTape.code }).toEqual({
      path: viaObjects.path,
      message: viaObjects.message,
      code: viaObjects.code,
    });
    expect(h.nftGenid()).toBe(genBefore);
  });

  test('a truncated or corrupted tape is refused before anything is sent', () => {
    const good = encodeOps([{ verb: 'add', object: 'table', family: 'inet', name: 'never' }]);
    const genBefore = h.nftGenid();
    for (const tape of [
      good.tape.subarray(0, good.tape.length - 3),
      Buffer.from([9, 0, 0, 0, 0]),
      Buffer.alloc(0),
    ]) {
      const err = caught(() => h.nftCommit({ ...good, tape }));
      expect(err).toMatchObject({ code: 'EINVAL', path: 'ops' });
      expect(err.message).toMatch(/malformed op tape/);
    }
    const err = caught(() => h.nftCommit({ ...good, strings: [] }));
    expect(err.message).toMatch(/malformed op tape/);
    expect(h.nftGenid()).toBe(genBefore);
    expect(ns.nft('list', 'tables')).not.toContain('never');
  });
});
