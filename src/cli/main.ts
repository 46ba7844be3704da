#!/usr/bin/env node
// netcg's command line. Each command is defined in its own file (src/cli/<name>.ts:
// its options and its manual, which --help, `netcg help`, the man pages and the
// completion script all read) and does its work in src/cli/actions/<name>.ts,
// imported only when that command runs. So --help, --version, completion and
// `help CMD` load commander and these definitions only, never the addon, and each
// command loads just what it uses; `run` skips zod and yaml too while its config is
// unchanged (config-memo.ts). The package's bin is this file bundled by
// scripts/bundle-cli.mjs (dist/bin/netcg.js, one chunk per action; source maps for
// NODE_OPTIONS=--enable-source-maps). docs/bench/startup.md has the times.
import { CommanderError } from 'commander';

import { createProgram } from './program.js';

const program = createProgram();

// `netcg ps | head` must end quietly, as Unix tools do, not with an EPIPE trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const json = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 1;
  else process.exitCode = (await import('./report.js')).reportError(err, json);
}
