import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { backendOption, configOption, jsonOption, netnsOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('apply')
    .summary('make the kernel match the config')
    .description(
      'Make the kernel match the config: create the profile cgroups (mounting the net_cls ' +
        "hierarchy if the host has none), read netcg's objects back from the kernel, and execute " +
        'exactly the difference `netcg diff` shows: all nf_tables changes in one transaction, ' +
        'ip rules and routes (tagged "proto 110") in a safe order. A second apply sends nothing. ' +
        'Anything that can be checked is checked before the first change; if a step fails, ' +
        "what was already done is undone. Tables, rules and routes that are not netcg's are " +
        'never read for change, modified or deleted.',
    )
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(backendOption())
    .addOption(netnsOption('apply inside this network namespace, e.g. /run/netns/vpn'))
    .addOption(jsonOption('print the result (or the error) as JSON on stdout'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg apply -c /etc/netcg/config.yaml\n  netcg apply -c test.yaml --netns /run/netns/lab --json\n  netcg apply --backend nft        # the same through nft(8) and ip(8)\n\nExit status: 0 applied, 1 error (nothing changed).',
    )
    .action(lazy(() => import('./actions/apply.js')));
}
