import { describe, expect, it } from 'vitest';

import {
  cgroupVerdictMapAttrs,
  cgroupVerdictMapUserdata,
  hostU32,
  ifname,
  port,
  readHostU32,
  readIfname,
} from '../../src/nft/index.js';

describe('set userdata for `typeof meta cgroup : verdict`', () => {
  it('is byte for byte what nft 1.0.6 stores (dumped with libnftnl from a map loaded by nft -f)', () => {
    expect(cgroupVerdictMapUserdata().toString('hex')).toBe(
      '000401000000010400000000030e000409000000010600041700000004080004010000000100060400000000',
    );
  });

  it("comes with nft's set attributes: a map, integer key of 4 bytes, verdict data of 16", () => {
    expect(cgroupVerdictMapAttrs()).toEqual({
      flags: 0x8,
      keyType: 4,
      keyLen: 4,
      dataType: 0xffffff00,
      dataLen: 16,
      userdata: cgroupVerdictMapUserdata(),
    });
  });
});

describe('register encodings', () => {
  it('ports are network byte order', () => {
    expect(port(53).toString('hex')).toBe('0035');
    expect(port(5354).toString('hex')).toBe('14ea');
  });

  it('meta u32 values are host byte order and round-trip', () => {
    const host = new Uint8Array(new Uint32Array([0x2b]).buffer);
    expect([...hostU32(0x2b)]).toEqual([...host]);
    expect(readHostU32(hostU32(0xfffffffe))).toBe(0xfffffffe);
  });

  it('interface names are 16 zero-padded bytes and round-trip', () => {
    expect(ifname('tun0').toString('hex')).toBe('74756e30000000000000000000000000');
    expect(readIfname(ifname('abcdefghijklmno'))).toBe('abcdefghijklmno');
    expect(() => ifname('abcdefghijklmnop')).toThrow(RangeError);
    expect(readIfname(Buffer.from('tun0'))).toBeUndefined();
  });
});
