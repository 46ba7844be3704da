// Reads the addon's dump "tape" (native/nft/tape.h) back into plain objects:
// exactly the NftDump that nftDump() returns, built by JS instead of napi.
//
// Why: at 10,000 profiles a dump is ~100,000 objects; creating them property by
// property through napi took most of a second, while V8 builds the same objects
// from JS in a small fraction of that. Generic: this reader knows the tape's
// tags, not nf_tables. Byte strings become Buffers that are views into the tape
// (one allocation for the whole dump instead of one per datum).
import type { NftDump, NftDumpTape } from '../native/types.js';

const enum Tag {
  Obj = 1,
  Arr = 2,
  Str = 3,
  U32 = 4,
  I32 = 5,
  F64 = 6,
  Bytes = 7,
  True = 8,
  False = 9,
}

export class TapeError extends Error {}

/** The tape is in host byte order (the addon runs in this very process). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function readTape(t: NftDumpTape): NftDump {
  const buf = t.tape;
  const { strings } = t;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = buf.byteLength;
  let at = 0;

  // Every read is bounds-checked: DataView throws past the end, bytes are checked by hand.
  const u32 = () => {
    const v = view.getUint32(at, LITTLE_ENDIAN);
    at += 4;
    return v;
  };
  const str = () => {
    const i = u32();
    const s = strings[i];
    if (s === undefined) throw new TapeError(`nft dump tape: string index ${i} out of range`);
    return s;
  };

  function value(): unknown {
    if (at >= end) throw new TapeError('nft dump tape: truncated');
    const tag = buf[at++] as Tag;
    switch (tag) {
      case Tag.Obj: {
        const n = u32();
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = str();
          o[k] = value();
        }
        return o;
      }
      case Tag.Arr: {
        const n = u32();
        const a: unknown[] = [];
        for (let i = 0; i < n; i++) a.push(value());
        return a;
      }
      case Tag.Str:
        return str();
      case Tag.U32:
        return u32();
      case Tag.I32: {
        const v = view.getInt32(at, LITTLE_ENDIAN);
        at += 4;
        return v;
      }
      case Tag.F64: {
        const v = view.getFloat64(at, LITTLE_ENDIAN);
        at += 8;
        return v;
      }
      case Tag.Bytes: {
        const n = u32();
        if (n > end - at) throw new TapeError('nft dump tape: byte string past the end');
        const b = buf.subarray(at, at + n);
        at += n;
        return b;
      }
      case Tag.True:
        return true;
      case Tag.False:
        return false;
      default:
        throw new TapeError(`nft dump tape: unknown tag ${String(tag)} at ${at - 1}`);
    }
  }

  const out = value() as Omit<NftDump, 'genid'>;
  if (at !== end) throw new TapeError('nft dump tape: trailing bytes');
  return { ...out, genid: t.genid };
}
