import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, netnsOption, trustConfigOption } from './options.js';

export function register(program: Command): void {
  program
    .command('status')
    .summary("show each profile's match, members, features, counters and drift")
    .description(
      'One block per profile: how its members are matched (net_cls classid, or cgroup v2 path and ID), ' +
        'how many processes are in it, its features (dns → port, ipv6 reject, via → interface with the ' +
        "interface's state, routing table and mark), and the packets and bytes counted by each of its " +
        'rules, read from the kernel with one netlink dump. Anything `netcg diff` would change is shown ' +
        'under the profile it concerns (shared objects under "shared base chains"). With --watch the ' +
        'screen refreshes in place like top and adds packets/s and bytes/s. Nothing is changed.',
    )
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(netnsOption('read inside this network namespace'))
    .addOption(jsonOption('print one sample as JSON (schema: docs/status-json.md)'))
    .option('-w, --watch', 'refresh in place until q or Ctrl-C, with rates per second')
    .option('-n, --interval <seconds>', 'refresh interval for --watch', '1')
    .addHelpText(
      'after',
      "\nExamples:\n  netcg status\n  netcg status --watch -n 2\n  netcg status --json | jq '.profiles[] | {name, members, totals}'\n\nExit status: 0 (drift is shown, not an error; see `netcg diff` for an exit status), 1 error.",
    )
    .action(lazy(() => import('./actions/status.js')));
}
