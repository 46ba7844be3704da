// The netcg program as commander describes it: its name, manual text and commands.
// main.ts parses the command line with it; scripts/gen-man.mjs writes the man
// pages from it (src/cli/man.ts), so --help and the man pages say the same.
import { Command } from 'commander';

import { defineCommands } from './commands.js';
import { packageVersion } from './version.js';

export function createProgram(): Command {
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
      '  /run/netcg/              per-namespace locks; net_cls mount point if the host has none;',
      '                           config-cache/: configs that loaded, reused by `run` while unchanged',
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
  return program;
}
