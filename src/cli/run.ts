import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, trustConfigOption } from './options.js';

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
    .addOption(configOption())
    .addOption(trustConfigOption())
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nExamples:\n  netcg run unlocator -- dig example.org\n  netcg run vpn firefox\n  netcg run -c ~/netcg.yaml vpn          # a shell inside the profile\n\nExit status: the command's own; 1 if netcg could not start it.",
    )
    .action(lazy(() => import('./actions/run.js')));
}
