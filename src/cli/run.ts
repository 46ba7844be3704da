import type { Command } from 'commander';

import { loadConfig } from '../config/index.js';
import { joinAndExec } from '../launcher.js';
import { configPath } from './common.js';

export function register(program: Command): void {
  program
    .command('run')
    .summary('run a command (or a shell) inside a profile')
    .description(
      "Join the profile's cgroup, then exec COMMAND (or $SHELL, else /bin/sh). The command " +
        'replaces netcg: same PID, and signals and the exit status pass through. Signal ' +
        'dispositions, the signal mask and blocking stdio are restored first, so the command ' +
        'starts exactly as it would from a shell. Members of a profile with an `owner` may be ' +
        'started by that user without root.',
    )
    .argument('<profile>', 'profile name from the config')
    .argument('[command...]', 'the command and its arguments (use -- before options meant for it)')
    .option('-c, --config <file>', 'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml)')
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nExamples:\n  netcg run unlocator -- dig example.org\n  netcg run vpn firefox\n  netcg run -c ~/netcg.yaml vpn          # a shell inside the profile\n\nExit status: the command's own; 1 if netcg could not start it.",
    )
    .action((profile: string, command: string[], opts: { config?: string }) => {
      // With pass-through options commander keeps the `--` separator; it is ours, not the command's.
      const argv = command[0] === '--' ? command.slice(1) : command;
      joinAndExec(loadConfig(configPath(opts.config)), profile, argv);
    });
}
