// The dump's tape form (nftDump(filter, { tape: true }) read by readTape) must be
// exactly the dump nftDump(filter) returns as objects: same tables, chains, rules,
// expressions (known, unknown kinds, unmodelled variants), sets, elements, Buffers.
// A real kernel in a throwaway namespace; the ruleset is written with nft so it
// also holds things netcg never sends.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { createNetns, type Netns } from '../helpers/netns.js';
import { openHandle, type NetlinkHandle, type NftDumpFilter } from '../../src/native/index.js';
import { readTape, TapeError } from '../../src/state/nft-tape.js';

let ns: Netns;
let h: NetlinkHandle;

const RULESET = `
table inet tp {
  map vm { type mark : verdict; elements = { 1 : jump c1, 2 : accept, 3 : drop } }
  map dm { type ipv4_addr : mark; elements = { 198.51.100.1 : 7, 198.51.100.2 : 8 } }
  set s6 { type ipv6_addr; elements = { 2001:db8::1, 2001:db8::2 } }
  chain out {
    type filter hook output priority -5; policy accept;
    meta l4proto udp udp dport 53 counter comment "dns"
    meta mark vmap @vm
    ip daddr @dm counter
    ip6 daddr @s6 counter drop
    ip6 daddr != @s6 counter
    limit rate 5/second counter
    ct state established,related accept
    meta mark set meta mark & 0xff00 | 0x2b
    tcp dport 22 tcp option maxseg size set 1200
    ip dscp set cs1
  }
  chain c1 {
    counter return
  }
  chain nat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "lo" masquerade random
  }
}
table ip other {
  chain c {
    counter
  }
}
`;

beforeAll(() => {
  ns = createNetns('nctape');
  h = openHandle(ns.path);
  ns.run('nft', ['-f', '-'], RULESET);
});

afterAll(() => {
  h?.close();
  ns?.remove();
});

describe('nftDump tape', () => {
  const filters: Array<[string, NftDumpFilter | undefined]> = [
    ['everything', undefined],
    ['one family', { family: 'inet' }],
    ['one table', { family: 'inet', table: 'tp' }],
    ['a table that does not exist', { family: 'inet', table: 'missing' }],
  ];
  test.each(filters)('reads back exactly the object dump: %s', (_name, filter) => {
    const objects = h.nftDump(filter);
    const tape = readTape(h.nftDump(filter, { tape: true }));
    expect(tape.genid).toBe(objects.genid);
    expect(tape).toEqual(objects);
    // The content is really there (not two equal empty dumps).
    if (filter?.table !== 'missing') {
      expect(tape.rules.length).toBeGreaterThanOrEqual(10);
      expect(tape.rules.some((r) => r.exprs.some((e) => (e as { unknown?: boolean }).unknown))).toBe(true);
      expect(tape.sets.flatMap((s) => s.elements).length).toBeGreaterThanOrEqual(7);
    } else {
      expect(tape).toMatchObject({ tables: [], chains: [], rules: [], sets: [] });
    }
  });

  test('byte strings are Buffers holding the wire bytes', () => {
    const dump = readTape(h.nftDump({ family: 'inet', table: 'tp' }, { tape: true }));
    const dm = dump.sets.find((s) => s.name === 'dm')!;
    const keys = dm.elements.map((e) => e.key.toString('hex')).sort();
    expect(keys).toEqual(['c6336401', 'c6336402']);
    for (const e of dm.elements) expect(Buffer.isBuffer(e.data)).toBe(true);
  });

  test('a damaged tape is refused, never read past its end', () => {
    const t = h.nftDump({ family: 'inet', table: 'tp' }, { tape: true });
    for (const cut of [0, 1, 5, Math.floor(t.tape.length / 2), t.tape.length - 1]) {
      expect(() => readTape({ ...t, tape: t.tape.subarray(0, cut) })).toThrow();
    }
    expect(() => readTape({ ...t, strings: [] })).toThrow(TapeError);
    expect(() => readTape({ ...t, tape: Buffer.concat([t.tape, Buffer.from([8])]) })).toThrow(TapeError);
  });
});
