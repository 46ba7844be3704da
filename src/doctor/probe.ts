// The probe transaction, the way a careful tool checks kernel support: ask the
// kernel to build a throwaway table (with a `socket cgroupv2` rule for the second
// probe) and delete it again in the SAME batch, so nothing is ever left behind
// and nothing runs in between. The kernel validates every message, so a missing
// feature makes the whole batch fail.
import { randomBytes } from 'node:crypto';

import type { NetlinkHandle, NftOp } from '../native/types.js';
import type { ProbeResult } from './kernel.js';

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code ? `${e.code} (${e.message ?? ''})` : String(err);
}

export function probeTableName(): string {
  return `netcg_doctor_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export function probeNftables(h: NetlinkHandle, name = probeTableName()): ProbeResult {
  const table: NftOp = { verb: 'add', object: 'table', family: 'inet', name };
  const drop: NftOp = { verb: 'delete', object: 'table', family: 'inet', name };
  const result: ProbeResult = {};
  try {
    h.nftCommit([table, drop]);
  } catch (err) {
    return { nftables: reason(err), socketCgroupv2: 'not probed (nf_tables unusable)' };
  }
  try {
    h.nftCommit([
      table,
      { verb: 'add', object: 'chain', family: 'inet', table: name, name: 'probe' },
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: name,
        chain: 'probe',
        exprs: [
          { type: 'socket', key: 'cgroupv2', dreg: 1, level: 1 },
          { type: 'cmp', sreg: 1, op: 'eq', data: Buffer.alloc(8) },
        ],
      },
      drop,
    ]);
  } catch (err) {
    result.socketCgroupv2 = reason(err);
  }
  return result;
}
