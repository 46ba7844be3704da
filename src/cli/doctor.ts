import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, netnsOption } from './options.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .summary('check the host for what would stop netcg from working')
    .description(
      'Check the host and the config against each other and explain every finding in one line, with ' +
        'the fix: nf_tables and `socket cgroupv2` (a probe table created and deleted in one transaction), ' +
        'net_cls and cgroup2 and their mounts, the pre-5.15 kernel bug that breaks cgroup v2 matching ' +
        "when net_cls is used too, rp_filter/src_valid_mark on VPN profiles' interfaces, IPv6 being off " +
        'while the config relies on it, resolvers that bypass port 53 (nss-resolve, DNS-over-HTTPS ' +
        "clients), iptables-legacy tables, other tables' output chains that run before netcg's, and the " +
        'libnftnl the addon loaded. Nothing is changed (the probe table never outlives its transaction).',
    )
    .addOption(configOption().default(undefined, 'host checks only when none exists'))
    .addOption(netnsOption('check inside this network namespace'))
    .addOption(jsonOption('print the findings as JSON (schema: docs/doctor-json.md)'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg doctor\n  netcg doctor -c netcg.yaml --netns /run/netns/vpn\n  netcg doctor --json | jq \'.findings[] | select(.level != "ok")\'\n\nExit status: 0 all good, 1 warnings, 2 errors.',
    )
    .action(lazy(() => import('./actions/doctor.js')));
}
