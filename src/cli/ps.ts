import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('ps')
    .summary("list each profile's member processes")
    .description(
      "List the processes in each profile's cgroup (or in PROFILE only): one heading per profile " +
        '(its classid or cgroup v2 match, its cgroup directory, the member count), then one line per ' +
        'member: pid, user, command line. Reads the cgroup files only; needs no privileges.',
    )
    .argument('[profile]', 'only this profile')
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(jsonOption('print as JSON'))
    .addHelpText(
      'after',
      "\nExamples:\n  netcg ps\n  netcg ps vpn --json | jq '.profiles[0].members[].pid'\n\nExit status: 0 listed, 1 error (bad config, unknown profile).",
    )
    .action(lazy(() => import('./actions/ps.js')));
}
