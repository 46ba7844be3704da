#!/usr/bin/env node
// netcg's command line: each command lives in its own file and only parses
// arguments, calls the library, and prints.
import { Command, CommanderError } from 'commander';

import * as applyCmd from './apply.js';
import * as diffCmd from './diff.js';
import * as downCmd from './down.js';
import * as psCmd from './ps.js';
import * as runCmd from './run.js';
import { reportError } from './common.js';

const program = new Command();
program
  .name('netcg')
  .description(
    'Per-process network policy for Linux. Put processes in a profile (a cgroup); the ' +
      'profile decides where their packets go: their own DNS server, no IPv6, or out ' +
      'through a VPN interface. netcg speaks nf_tables and rtnetlink directly.',
  )
  .version('0.1.0')
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

for (const cmd of [applyCmd, diffCmd, runCmd, psCmd, downCmd, await import('./enroll.js'), await import('./leave.js')]) cmd.register(program);
(await import('./status.js')).register(program);
(await import('./doctor.js')).register(program);
(await import('./export.js')).register(program);
(await import('./completion.js')).register(program);

program.addHelpText(
  'after',
  '\nFiles:\n  /etc/netcg/config.yaml   default config ($NETCG_CONFIG overrides, -c overrides both)\n\n' +
    'Examples:\n  netcg diff -c netcg.yaml             what apply would change\n  netcg apply -c netcg.yaml            install the policy\n  netcg run unlocator -- dig example.org\n  netcg ps                             who is in which profile\n  netcg down -c netcg.yaml             remove all of it\n\n' +
    'Exit status: 0 success, 1 error (diff: 2 when something would change). See `netcg help <command>` for each command.',
);

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
  else process.exitCode = reportError(err, json);
}
