import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { backendOption, configOption, jsonOption, netnsOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('down')
    .summary('remove everything netcg created')
    .description(
      'Remove everything netcg created for the config: its nf_tables table, its ip rules and ' +
        "routes (those tagged with netcg's protocol number 110), and the profile cgroups that " +
        'have no members left. Every other table, rule and route stays exactly as it was.',
    )
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(backendOption('netlink (default) or nft'))
    .addOption(netnsOption('act inside this network namespace'))
    .addOption(jsonOption('print the result as JSON'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg down -c /etc/netcg/config.yaml\n  netcg down -c test.yaml --netns /run/netns/lab\n  systemctl stop netcg                 runs netcg down (contrib/systemd/netcg.service)\n\n' +
        'Processes still in a profile keep running; their cgroup is kept (and reported) until it is empty.\n\n' +
        'Exit status: 0 removed (or nothing was there), 1 error.',
    )
    .action(lazy(() => import('./actions/down.js')));
}
