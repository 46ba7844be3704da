import { InvalidArgumentError, type Command } from 'commander';

import { DEFAULT_DEBOUNCE_MS } from '../watch/defaults.js';
import { lazy } from './lazy.js';
import { configOption, jsonOption, netnsOption, trustConfigOption } from './options.js';

function parseDebounce(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 60_000)
    throw new InvalidArgumentError('expected milliseconds, an integer from 0 to 60000');
  return n;
}

export function register(program: Command): void {
  program
    .command('watch')
    .summary('keep the kernel equal to the config (a daemon)')
    .description(
      'Apply the config, then keep the kernel equal to it until stopped. netcg watch subscribes ' +
        'to rtnetlink (links, addresses, routes, ip rules) and nf_tables notifications in the ' +
        'target namespace — it never polls — and re-applies when an event can have changed ' +
        "netcg's state: a `route.via` interface appearing, going down or up, or disappearing " +
        '(its routes are restored when it is back; meanwhile the fail-closed route keeps members ' +
        "off the main table), the host's addresses changing (copied link routes follow), " +
        "netcg's table, chains, rules or map elements deleted or edited by someone else (for " +
        "example a firewall manager's `nft flush ruleset`), netcg's ip rules or routes removed, " +
        "and a cgroup v2 profile's cgroup removed or re-created (its new ID goes into the maps). " +
        'Events are gathered for a short debounce window; then one apply — the same plan as ' +
        '`netcg apply`, under the same namespace lock, so it never races an apply — repairs ' +
        'everything the burst broke, and one line says what triggered it, what changed and how ' +
        'long it took.\n\n' +
        'Unlike `netcg apply`, which refuses a config whose `via` interface is missing or down, ' +
        "the daemon then applies everything else (netcg's table, ip rules, fail-closed routes) and " +
        'adds the routes through that interface when it is up again, so a firewall reload while a ' +
        'VPN is down is still repaired. Any other failure (the namespace lock busy, nf_tables ' +
        'changing under it) is logged and retried on the next relevant event or after a back-off ' +
        '(1 s, doubling up to 30 s).\n\n' +
        'Signals: SIGHUP re-reads the config (a broken config is reported with FILE:LINE:COL: KEY ' +
        'and the running one is kept); SIGTERM and SIGINT stop it cleanly (exit status 0). ' +
        "netcg's objects stay in place when it stops; `netcg down` removes them.",
    )
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(netnsOption('watch and repair inside this network namespace, e.g. /run/netns/vpn'))
    .addOption(jsonOption('log JSON lines on stdout instead of text on stderr (schema: docs/watch-json.md)'))
    .option(
      '--debounce <ms>',
      'how long to gather a burst of events before repairing',
      parseDebounce,
      DEFAULT_DEBOUNCE_MS,
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  netcg watch -c /etc/netcg/config.yaml',
        '  netcg watch -c test.yaml --netns /run/netns/lab --json | jq .',
        '  systemctl reload netcg-watch        # SIGHUP: re-read the config',
        '',
        'Log lines (stderr), one per repair:',
        '  netcg watch: repaired in 9 ms (61 ms after the first event) after nft deltable in inet netcg:',
        '  15 added, 0 changed, 0 destroyed: +table inet netcg, +map dns_dispatch, ...',
        '',
        'Exit status: 0 stopped by SIGTERM/SIGINT; 1 the config or the namespace could not be',
        'opened at start (errors of an apply are logged and retried, never fatal); 3 the daemon',
        'cannot go on (its netlink monitor failed or stopped, an internal error): a `fatal` record',
        'says why, and systemd (Restart=on-failure) starts it again. Lost events (a receive',
        'buffer overrun during a storm) are not fatal: an `overrun` record, then a full check.',
        '',
        'Unit: contrib/systemd/netcg-watch.service runs `netcg watch -c /etc/netcg/config.yaml`.',
      ].join('\n'),
    )
    .action(lazy(() => import('./actions/watch.js')));
}
