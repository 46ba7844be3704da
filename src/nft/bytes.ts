// Byte encodings of the values netcg puts in nf_tables registers. nf_tables data is
// raw bytes: packet fields (ports) are compared in network byte order, while
// meta values (mark, cgroup classid, l4proto, nfproto) are the kernel's own
// integers, i.e. host byte order. Getting this wrong does not fail loudly, the
// rule just never matches, so every encoding lives here, named by what it means.

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A 32-bit meta value (mark, cgroup classid) as the kernel stores it: host byte order. */
export function hostU32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  if (HOST_IS_LITTLE_ENDIAN) buf.writeUInt32LE(value >>> 0);
  else buf.writeUInt32BE(value >>> 0);
  return buf;
}

export function readHostU32(buf: Buffer): number {
  return HOST_IS_LITTLE_ENDIAN ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
}

/** A 64-bit value the kernel stores as an integer (a cgroup2 ID): host byte order. */
export function hostU64(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  if (HOST_IS_LITTLE_ENDIAN) buf.writeBigUInt64LE(value);
  else buf.writeBigUInt64BE(value);
  return buf;
}

export function readHostU64(buf: Buffer): bigint {
  return HOST_IS_LITTLE_ENDIAN ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0);
}

/** A one-byte meta value (l4proto, nfproto). */
export function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

/** A transport port as it appears in the packet: network byte order. */
export function port(value: number): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(value);
  return buf;
}

/** IFNAMSIZ: interface names are compared as 16 zero-padded bytes (an exact match, not a prefix). */
export const IFNAMSIZ = 16;

export function ifname(name: string): Buffer {
  const buf = Buffer.alloc(IFNAMSIZ);
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length >= IFNAMSIZ)
    throw new RangeError(`interface name '${name}' is longer than ${IFNAMSIZ - 1} bytes`);
  bytes.copy(buf);
  return buf;
}

/** The name in a zero-padded interface-name buffer, or undefined if it is not one. */
export function readIfname(buf: Buffer): string | undefined {
  if (buf.length !== IFNAMSIZ) return undefined;
  const end = buf.indexOf(0);
  if (end <= 0 || buf.subarray(end).some((b) => b !== 0)) return undefined;
  return buf.subarray(0, end).toString('utf8');
}
