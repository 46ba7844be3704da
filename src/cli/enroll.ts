import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('enroll')
    .summary('move running processes into a profile')
    .description(
      "Move running processes (whole processes, all threads) into the profile's cgroup. Nothing " +
        'is spawned: each PID is one write to the cgroup, and each PID succeeds or fails on its ' +
        'own. Under net_cls (v1) the sockets a process already has are re-tagged and follow the ' +
        'profile at once; under cgroup v2 a socket keeps the cgroup it was created in, so only ' +
        'sockets opened after the move match the profile (netcg warns when the process has some).',
    )
    .argument('<profile>', 'profile name from the config')
    .argument('<pid...>', 'process IDs')
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(jsonOption('print the outcomes as JSON'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg enroll vpn 4242\n  netcg enroll unlocator $(pgrep firefox) --json\n\nExit status: 0 when every PID moved, 1 when any did not (each PID has its own line).',
    )
    .action(lazy(() => import('./actions/enroll.js')));
}
