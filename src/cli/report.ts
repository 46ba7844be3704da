// How an error reaches the user: one `netcg: error:` line (a config error: one per
// issue) on stderr, or {"error": …} on stdout with --json. Imports nothing that
// loads the addon, so an addon that cannot load is reported the same way.
import { err as pc } from './colors.js';

import { ConfigError, NetcgError } from '../shared/errors.js';

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
