import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('leave')
    .summary('move processes out of their profile')
    .description(
      "Move processes out of the config's profiles, back to the root of each cgroup hierarchy " +
        'they were enrolled in (a program using the library instead returns them to where it ' +
        'found them). Each PID succeeds or fails on its own; a PID in no profile is an error.',
    )
    .argument('<pid...>', 'process IDs')
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(jsonOption('print the outcomes as JSON'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg leave 4242\n  netcg leave $(pgrep firefox) --json\n\nExit status: 0 when every PID left its profile, 1 when any did not.',
    )
    .action(lazy(() => import('./actions/leave.js')));
}
