// `netcg export`: prints the policy a config describes, for auditing (nft) or for
// porting to a host without netcg (sh). It reads host facts only (link routes of
// the target namespace, which cgroup hierarchies exist, IDs of existing cgroup v2
// profile cgroups) and changes nothing.
import type { Command } from 'commander';

import { compile } from '../compile/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { NetcgError } from '../errors.js';
import type { HostFacts } from '../model.js';
import { findCgroup2, readCgroupIds } from '../cgroups/cgroup2.js';
import { netClsAvailable } from '../cgroups/match.js';
import { findNetCls } from '../cgroups/netcls.js';
import { renderNftExport } from '../render/nft-export.js';
import { renderShScript } from '../render/sh.js';
import { configPath, withBackend } from './common.js';

export const EXPORT_FORMATS = ['nft', 'sh'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Where net_cls would be when the host has none mounted yet (apply mounts it there). */
const DEFAULT_NET_CLS = '/sys/fs/cgroup/net_cls';

/** The text `netcg export` prints for `config` on a host described by `linkRoutes` (from the target namespace). */
export function exportPolicy(
  config: Config,
  format: ExportFormat,
  linkRoutes: HostFacts['linkRoutes'],
): string {
  const cgroup2 = findCgroup2();
  const facts: HostFacts = { linkRoutes, cgroups: { netCls: netClsAvailable(), ids: {} } };
  // As diff does: v2 profile cgroups that already exist contribute their IDs; missing ones get no map element.
  if (cgroup2)
    facts.cgroups!.ids = readCgroupIds(
      cgroup2,
      compile(config, facts).cgroups.filter((c) => c.hierarchy === 'cgroupv2'),
    );
  const input = {
    config,
    desired: compile(config, facts),
    roots: { netCls: findNetCls() ?? DEFAULT_NET_CLS, cgroup2 },
  };
  return format === 'nft' ? renderNftExport(input) : renderShScript(input);
}

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
    .option('-c, --config <file>', 'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml)')
    .option('-f, --format <format>', 'nft or sh', 'nft')
    .option(
      '--netns <path>',
      'read host facts (link routes) from this network namespace, e.g. /run/netns/NAME',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  netcg export -c /etc/netcg/config.yaml > netcg.nft     audit; `nft -c -f netcg.nft` checks it\n' +
        '  netcg export --format sh > netcg.sh                    port to a host without netcg\n' +
        '  netcg export --netns /run/netns/box --format nft\n\n' +
        'Exit status: 0 printed, 1 error (bad config, unknown format, namespace not found).',
    )
    .action((opts: { config?: string; format: string; netns?: string }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
        throw new NetcgError('EUSAGE', `unknown export format '${opts.format}': use nft or sh`);
      const config = loadConfig(configPath(opts.config));
      const { linkRoutes } = withBackend('netlink', opts.netns, (b) => b.hostFacts());
      process.stdout.write(exportPolicy(config, opts.format as ExportFormat, linkRoutes));
    });
}
