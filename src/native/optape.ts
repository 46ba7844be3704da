// Writes nf_tables ops as one compact buffer (an "op tape") for
// NetlinkHandle.nftCommit, so the addon reads them without one napi call per
// field (see native/nft/optape.h for why and for the layout). The encoding is a
// generic tree of plain JS values: it knows nothing of what an op means, and the
// addon validates the result exactly as it validates op objects (same error
// paths, e.g. 'ops[3].exprs[1].key').
import type { NftOp, NftOpsTape } from './types.js';

// Must match enum class OpTag in native/nft/optape.h.
const enum T {
  Absent = 0,
  False,
  True,
  U32,
  F64,
  String,
  Bytes,
  Object,
  Array,
  BigInt,
  Other,
}

const U64_MAX = (1n << 64n) - 1n;

class Writer {
  buf: Buffer;
  view: DataView;
  pos = 0;
  readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  private u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  private stringId(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  value(v: unknown): void {
    this.room(16);
    switch (typeof v) {
      case 'string':
        this.string(v);
        return;
      case 'number':
        if (v >>> 0 === v) {
          this.buf[this.pos++] = T.U32;
          this.u32(v);
        } else {
          this.buf[this.pos++] = T.F64;
          this.view.setFloat64(this.pos, v, true);
          this.pos += 8;
        }
        return;
      case 'boolean':
        this.buf[this.pos++] = v ? T.True : T.False;
        return;
      case 'undefined':
        this.buf[this.pos++] = T.Absent;
        return;
      case 'bigint': {
        const fits = v >= 0n && v <= U64_MAX;
        this.buf[this.pos++] = T.BigInt;
        this.buf[this.pos++] = fits ? 1 : 0;
        this.view.setBigUint64(this.pos, fits ? v : 0n, true);
        this.pos += 8;
        return;
      }
      case 'object':
        if (v === null) {
          this.buf[this.pos++] = T.Absent;
        } else if (Array.isArray(v)) {
          this.array(v);
        } else if (v instanceof Uint8Array) {
          this.bytes(v);
        } else if (ArrayBuffer.isView(v)) {
          this.buf[this.pos++] = T.Other; // the addon takes only Buffer/Uint8Array
        } else {
          this.object(v as Record<string, unknown>);
        }
        return;
      default:
        this.buf[this.pos++] = T.Other;
    }
  }

  // Inline UTF-8. Values are not interned: hashing ~30,000 distinct chain names
  // into a Map cost more than writing them out.
  private string(v: string): void {
    const n = v.length;
    this.room(5 + 3 * n);
    this.buf[this.pos++] = T.String;
    const at = this.pos + 4;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) break;
      this.buf[at + i] = c;
    }
    const len = i === n ? n : this.buf.write(v, at, 'utf8');
    this.u32(len);
    this.pos += len;
  }

  private bytes(b: Uint8Array): void {
    this.room(5 + b.length);
    this.buf[this.pos++] = T.Bytes;
    this.u32(b.length);
    if (b.length <= 16) {
      for (let i = 0; i < b.length; i++) this.buf[this.pos + i] = b[i]!;
    } else {
      this.buf.set(b, this.pos);
    }
    this.pos += b.length;
  }

  // Containers: tag, body length (patched at the end), count, contents.
  private array(a: readonly unknown[]): void {
    this.buf[this.pos++] = T.Array;
    const lengthAt = this.pos;
    this.pos += 4;
    this.u32(a.length);
    for (let i = 0; i < a.length; i++) this.value(a[i]);
    this.view.setUint32(lengthAt, this.pos - lengthAt - 4, true);
  }

  private object(o: Record<string, unknown>): void {
    this.buf[this.pos++] = T.Object;
    const lengthAt = this.pos;
    this.pos += 8;
    let count = 0;
    for (const key in o) {
      const v = o[key];
      if (v === undefined) continue; // absent, as for the addon's own reader
      this.room(4);
      this.u32(this.stringId(key));
      this.value(v);
      count++;
    }
    this.view.setUint32(lengthAt, this.pos - lengthAt - 4, true);
    this.view.setUint32(lengthAt + 4, count, true);
  }
}

/** Encodes `ops` for nftCommit: the same ops, read several times faster by the addon. */
export function encodeOps(ops: readonly NftOp[]): NftOpsTape {
  const w = new Writer(64 * 1024 + ops.length * 256);
  w.value(ops);
  return { tape: w.buf.subarray(0, w.pos), strings: w.strings, ops };
}
