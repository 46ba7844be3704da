// `netcg export`: the policy a config describes as an nft script or as
// iptables/ip commands (the work is in actions/export.ts).
import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, netnsOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('export')
    .summary('print the policy as an nft script or as iptables/ip commands')
    .description(
      'Print what `netcg apply` would install for the config, without changing anything.\n\n' +
        "--format nft (default) prints an `nft -f` file: the whole of netcg's table exactly as apply " +
        'installs it (loading it replaces that table atomically and gives the same `nft list`), followed ' +
        'by the ip rules, routes and cgroups netcg adds, as comments holding runnable `ip` commands. Use it ' +
        'to audit the policy or to review a change.\n\n' +
        '--format sh prints a /bin/sh script in the style of the original recipe: mkdir and echo the ' +
        'classid for each cgroup, then iptables/ip6tables rules matching `-m cgroup --cgroup CLASSID` ' +
        '(or `--path` for cgroup v2 profiles), `ip rule` and `ip route` commands. Use it to port the ' +
        'policy to a host without netcg. $NET_CLS and $CGROUP2 override where it creates the cgroups.\n\n' +
        'Routes copied from the main table (copyLinkRoutes) are read from the target namespace: ' +
        '--netns PATH, else the current one.',
    )
    .addOption(configOption())
    .addOption(trustConfigOption())
    .option('-f, --format <format>', 'nft or sh', 'nft')
    .addOption(netnsOption('read host facts (link routes) from this network namespace, e.g. /run/netns/NAME'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  netcg export -c /etc/netcg/config.yaml > netcg.nft     audit; `nft -c -f netcg.nft` checks it\n' +
        '  netcg export --format sh > netcg.sh                    port to a host without netcg\n' +
        '  netcg export --netns /run/netns/box --format nft\n\n' +
        'Exit status: 0 printed, 1 error (bad config, unknown format, namespace not found).',
    )
    .action(lazy(() => import('./actions/export.js')));
}
