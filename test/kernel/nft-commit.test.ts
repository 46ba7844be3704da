// nftCommit / nftDump against the real kernel, in a throwaway namespace:
// all-or-nothing batches, errors that point at the failing op, the genid guard,
// maps with verdict elements, and dumps far larger than one netlink message.
import { describe, expect, test } from 'vitest';

import type { Netns } from '../helpers/netns.js';
import { u32le, caught, useNetnsHandle } from '../helpers/handle.js';
import type { NetlinkHandle, NftOp } from '../../src/native/index.js';

// nft's userdata for `typeof meta cgroup : verdict` (see nft-expr-roundtrip.test.ts).
const cgroupVmapUserdata = Buffer.from(
  '000401000000010400000000030e000409000000010600041700000004080004010000000100060400000000',
  'hex',
);

let ns: Netns;
let h: NetlinkHandle;
useNetnsHandle('nccm', (made) => ({ ns, h } = made));

describe('one transaction', () => {
  test('a batch whose 3rd op fails applies nothing and names that op', () => {
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
    const err = caught(() => h.nftCommit(ops));
    expect(err.code).toBe('ENOENT');
    expect(err.errno).toBe(2);
    expect(err.op).toBe('nft.commit');
    expect(err.index).toBe(2);
    expect(err.object).toBe(ops[2]);
    // The kernel points at the offending attribute: 16 (nlmsghdr) + 4 (nfgenmsg)
    // + 12 (NFTA_RULE_TABLE "half\0", padded) = 32 is NFTA_RULE_CHAIN.
    expect(err.extAckOffset).toBe(16 + 4 + 12);
    expect(err.message).toMatch(/ENOENT.*index 2/);

    expect(h.nftDump({ table: 'half' })).toMatchObject({ tables: [], chains: [], rules: [], sets: [] });
    expect(ns.nft('list', 'ruleset')).toBe('');
    expect(h.nftGenid()).toBe(genBefore);
  });

  test('create on an existing table is EEXIST at that op; add is idempotent', () => {
    h.nftCommit([{ verb: 'add', object: 'table', family: 'inet', name: 'dup' }]);
    h.nftCommit([{ verb: 'add', object: 'table', family: 'inet', name: 'dup' }]);
    const err = caught(() =>
      h.nftCommit([
        { verb: 'add', object: 'chain', family: 'inet', table: 'dup', name: 'x' },
        { verb: 'create', object: 'table', family: 'inet', name: 'dup' },
      ]),
    );
    expect(err).toMatchObject({ code: 'EEXIST', index: 1 });
    expect(h.nftDump({ table: 'dup' }).chains).toEqual([]);
    h.nftCommit([{ verb: 'delete', object: 'table', family: 'inet', name: 'dup' }]);
    h.nftCommit([{ verb: 'destroy', object: 'table', family: 'inet', name: 'dup' }]); // absent: no error
  });

  test('a stale genid makes the kernel refuse the whole batch with ERESTART', () => {
    const gen = h.nftGenid();
    h.nftCommit([{ verb: 'add', object: 'table', family: 'inet', name: 'moved' }]);
    expect(h.nftGenid()).not.toBe(gen);
    const err = caught(() =>
      h.nftCommit([{ verb: 'add', object: 'table', family: 'inet', name: 'stale' }], { genid: gen }),
    );
    expect(err.code).toBe('ERESTART');
    expect(err.index).toBeUndefined();
    expect(h.nftDump({ table: 'stale' }).tables).toEqual([]);
    // The current genid is accepted.
    h.nftCommit([{ verb: 'delete', object: 'table', family: 'inet', name: 'moved' }], {
      genid: h.nftGenid(),
    });
    expect(h.nftDump({ table: 'moved' }).tables).toEqual([]);
  });

  test("the kernel's ext-ack message reaches the error (rtnetlink sends one for a bad gateway)", () => {
    const err = caught(() =>
      h.routeAdd({ family: 4, table: 100, dst: '198.18.0.0', dstLen: 24, gateway: '198.18.0.1' }),
    );
    expect(err.code).toBe('ENETUNREACH');
    expect(err.extAck).toBe('Nexthop has invalid gateway');
    expect(err.message).toContain('Nexthop has invalid gateway');
  });
});

describe('sets and maps', () => {
  test('a verdict map and a data map, created with their elements in one batch, dump back exactly', () => {
    h.nftCommit([
      { verb: 'add', object: 'table', family: 'inet', name: 'vm' },
      { verb: 'add', object: 'chain', family: 'inet', table: 'vm', name: 'p42' },
      { verb: 'add', object: 'chain', family: 'inet', table: 'vm', name: 'p43' },
      {
        verb: 'add',
        object: 'set',
        family: 'inet',
        table: 'vm',
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
        table: 'vm',
        set: 'dispatch',
        elements: [
          { key: u32le(42), verdict: { code: 'jump', chain: 'p42' } },
          { key: u32le(43), verdict: { code: 'goto', chain: 'p43' } },
          { key: u32le(44), verdict: { code: 'drop' } },
        ],
      },
      // Userdata as nft sends it for `type ipv4_addr : mark` (byte orders of key and data).
      {
        verb: 'add',
        object: 'set',
        family: 'inet',
        table: 'vm',
        name: 'marks',
        flags: 0x8,
        keyType: 7,
        keyLen: 4,
        dataType: 19,
        dataLen: 4,
        userdata: Buffer.from('000402000000010401000000060400000000', 'hex'),
      },
      {
        verb: 'add',
        object: 'element',
        family: 'inet',
        table: 'vm',
        set: 'marks',
        elements: [{ key: Buffer.from([198, 18, 0, 1]), data: u32le(0x2b) }],
      },
      {
        verb: 'add',
        object: 'chain',
        family: 'inet',
        table: 'vm',
        name: 'out',
        hook: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
      },
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'vm',
        chain: 'out',
        exprs: [
          { type: 'meta', key: 'cgroup', dreg: 1 },
          { type: 'lookup', sreg: 1, set: 'dispatch', dreg: 0 },
        ],
      },
    ]);
    const dump = h.nftDump({ family: 'inet', table: 'vm' });
    const byName = Object.fromEntries(dump.sets.map((s) => [s.name, s]));
    expect(byName.dispatch).toMatchObject({
      family: 'inet',
      table: 'vm',
      flags: 0x8,
      keyType: 4,
      keyLen: 4,
      dataType: 0xffffff00,
      dataLen: 16,
      userdata: cgroupVmapUserdata,
    });
    const sortByKey = <T extends { key: Buffer }>(xs: T[]) =>
      [...xs].sort((a, b) => Buffer.compare(a.key, b.key));
    expect(sortByKey(byName.dispatch!.elements)).toEqual([
      { key: u32le(42), verdict: { code: 'jump', chain: 'p42' } },
      { key: u32le(43), verdict: { code: 'goto', chain: 'p43' } },
      { key: u32le(44), verdict: { code: 'drop' } },
    ]);
    expect(byName.marks).toMatchObject({ flags: 0x8, keyType: 7, keyLen: 4, dataType: 19, dataLen: 4 });
    expect(byName.marks!.elements).toEqual([{ key: Buffer.from([198, 18, 0, 1]), data: u32le(0x2b) }]);

    const text = ns.nft('list', 'table', 'inet', 'vm');
    expect(text).toMatch(/typeof meta cgroup : verdict/);
    expect(text).toMatch(/42 : jump p42/);
    expect(text).toMatch(/198\.18\.0\.1 : 0x0000002b/);
    expect(dump.chains.find((c) => c.name === 'out')?.hook).toEqual({
      type: 'filter',
      hook: 'output',
      priority: 0,
      policy: 'accept',
    });
  });

  test('elements can be deleted and a set flushed', () => {
    h.nftCommit([
      {
        verb: 'delete',
        object: 'element',
        family: 'inet',
        table: 'vm',
        set: 'dispatch',
        elements: [{ key: u32le(44) }],
      },
    ]);
    expect(h.nftDump({ table: 'vm' }).sets.find((s) => s.name === 'dispatch')!.elements).toHaveLength(2);
    h.nftCommit([{ verb: 'flush', object: 'set', family: 'inet', table: 'vm', name: 'dispatch' }]);
    expect(h.nftDump({ table: 'vm' }).sets.find((s) => s.name === 'dispatch')!.elements).toEqual([]);
  });

  test('thousands of elements in one op (split over messages) all arrive', () => {
    const elements = Array.from({ length: 5000 }, (_, i) => ({
      key: u32le(1000 + i),
      verdict: { code: 'jump' as const, chain: 'p42' },
    }));
    h.nftCommit([{ verb: 'add', object: 'element', family: 'inet', table: 'vm', set: 'dispatch', elements }]);
    expect(h.nftDump({ table: 'vm' }).sets.find((s) => s.name === 'dispatch')!.elements).toHaveLength(5000);
  });
});

describe('big rulesets', () => {
  test('20,000 rules commit in one batch and dump back without ENOBUFS', () => {
    const N = 20_000;
    const ops: NftOp[] = [
      { verb: 'add', object: 'table', family: 'inet', name: 'big' },
      { verb: 'add', object: 'chain', family: 'inet', table: 'big', name: 'c' },
    ];
    for (let i = 0; i < N; i++) {
      ops.push({
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'big',
        chain: 'c',
        exprs: [
          { type: 'meta', key: 'mark', dreg: 1 },
          { type: 'cmp', sreg: 1, op: 'eq', data: u32le(i) },
          { type: 'counter', packets: 0, bytes: 0 },
          { type: 'immediate', dreg: 0, verdict: { code: 'accept' } },
        ],
      });
    }
    h.nftCommit(ops);
    const dump = h.nftDump({ table: 'big' });
    expect(dump.rules).toHaveLength(N);
    expect(dump.rules[N - 1]!.exprs[1]).toEqual({ type: 'cmp', sreg: 1, op: 'eq', data: u32le(N - 1) });
    expect(new Set(dump.rules.map((r) => r.handle)).size).toBe(N);

    // Rules are deleted by handle, also in one batch.
    h.nftCommit(
      dump.rules.slice(0, 10).map((r) => ({
        verb: 'delete',
        object: 'rule',
        family: 'inet',
        table: 'big',
        chain: 'c',
        handle: r.handle,
      })),
    );
    expect(h.nftDump({ table: 'big' }).rules).toHaveLength(N - 10);
    h.nftCommit([{ verb: 'delete', object: 'table', family: 'inet', name: 'big' }]);
  });
});
