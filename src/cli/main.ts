#!/usr/bin/env node
// netcg's command line. Each command is defined in its own file (src/cli/<name>.ts:
// its options and its manual, which --help, `netcg help`, the man pages and the
// completion script all read) and does its work in src/cli/actions/<name>.ts,
// imported only when that command runs. So --help, --version, completion and
// `help CMD` load commander and these definitions only, never the addon, and each
// command loads just what it uses (docs/bench/startup.md has the times).
import { Command, CommanderError } from 'commander';

import { defineCommands } from './commands.js';
import { packageVersion } from './version.js';

const program = new Command();
program
  .name('netcg')
  .description(
    'Per-process network policy for Linux. Put processes in a profile (a cgroup); the ' +
      'profile decides where their packets go: their own DNS server, no IPv6, or out ' +
      'through a VPN interface. netcg speaks nf_tables and rtnetlink directly.',
  )
  .version(packageVersion())
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

defineCommands(program);

program.addHelpText(
  'after',
  [
    '',
    'Description:',
    '  You describe profiles in one YAML file. `netcg apply` makes the kernel match it (one',
    '  nf_tables transaction, ip rules and routes tagged proto 110); `netcg run PROFILE CMD`',
    '  starts a program in a profile; `netcg down` removes exactly what netcg made. netcg',
    '  never changes tables, rules or routes that are not its own.',
    '',
    'Examples:',
    '  netcg diff -c netcg.yaml                 what apply would change',
    '  netcg apply -c netcg.yaml                install the policy',
    '  netcg run unlocator -- dig example.org   one program in a profile',
    '  netcg enroll vpn $(pgrep firefox)        move running processes',
    '  netcg ps                                 who is in which profile',
    '  netcg export --format sh                 the same policy as iptables/ip commands',
    '  netcg down -c netcg.yaml                 remove all of it',
    '',
    'Files:',
    '  /etc/netcg/config.yaml   default config ($NETCG_CONFIG overrides it, -c both)',
    '  /run/netcg/              per-namespace locks; net_cls mount point if the host has none',
    '  schema/netcg.schema.json JSON Schema of the config, in the package (for editors)',
    '',
    'Environment:',
    '  NETCG_CONFIG   config file when -c is not given',
    '  NO_COLOR       no colours, even on a terminal; FORCE_COLOR colours even in a pipe',
    '',
    'Exit status:',
    '  0 success, 1 error (a message on stderr, or {"error": …} on stdout with --json);',
    "  diff and doctor have their own (see their help); run: the command's own status.",
    '',
    "See also: `netcg help COMMAND` for each command's manual; nft(8), ip-rule(8), ip-route(8);",
    'the README for the guarantees and the library API.',
  ].join('\n'),
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
  else process.exitCode = (await import('./report.js')).reportError(err, json);
}
