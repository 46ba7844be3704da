// What the commands' actions share (loaded only when a command runs): which backend
// to use, and how results and errors are printed (human text, or --json for programs).
import { err as pc } from './colors.js';

import type { Backend, BackendName } from '../backends/types.js';
import { NetlinkBackend } from '../backends/netlink.js';
import { NftBackend } from '../backends/nft.js';
import { ConfigError, NetcgError } from '../shared/errors.js';

export function openBackend(name: string, netns: string | undefined): Backend {
  const backend = name as BackendName;
  if (backend === 'netlink') return new NetlinkBackend(netns);
  if (backend === 'nft') return new NftBackend(netns);
  throw new NetcgError('EUSAGE', `unknown backend '${name}': use netlink (default) or nft`);
}

export function withBackend<T>(name: string, netns: string | undefined, fn: (b: Backend) => T): T {
  const backend = openBackend(name, netns);
  try {
    return fn(backend);
  } finally {
    backend.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v), 2)}\n`,
  );
}

/** Prints an error the way a Unix tool does and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const e = err as Partial<NetcgError> &
    Error & { errno?: number; op?: string; extAck?: string; issues?: unknown };
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: e.code ?? 'EINTERNAL', message: e.message, ...(e.errno !== undefined ? { errno: e.errno } : {}), ...(e.op ? { op: e.op } : {}), ...(e.extAck ? { extAck: e.extAck } : {}), ...(err instanceof ConfigError ? { issues: err.issues } : {}) } })}\n`,
    );
  } else if (err instanceof NetcgError) {
    // A config error lists one issue per line, compiler style; others are one sentence.
    const lines = e.message.split('\n');
    const head =
      err instanceof ConfigError
        ? `invalid configuration (${lines.length} problem${lines.length > 1 ? 's' : ''}):`
        : lines.shift();
    process.stderr.write(`${pc.red(pc.bold('netcg: error:'))} ${head}\n`);
    for (const l of lines) process.stderr.write(`  ${l}\n`);
  } else {
    process.stderr.write(`${pc.red(pc.bold('netcg: internal error:'))} ${e.stack ?? String(err)}\n`);
  }
  return 1;
}
