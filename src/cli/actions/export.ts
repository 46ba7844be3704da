// `netcg export`: prints the policy a config describes, for auditing (nft) or for
// porting to a host without netcg (sh). It reads host facts only (link routes of
// the target namespace, which cgroup hierarchies exist, IDs of existing cgroup v2
// profile cgroups) and changes nothing.
import { findCgroup2, readCgroupIds } from '../../cgroups/cgroup2.js';
import { ownSpecs, readExistingCgroups } from '../../cgroups/existing.js';
import { netClsAvailable } from '../../cgroups/match.js';
import { findNetCls } from '../../cgroups/netcls.js';
import { readHostFacts } from '../../apply/apply.js';
import { compile } from '../../compile/index.js';
import type { Config } from '../../config/index.js';
import { NetcgError } from '../../shared/errors.js';
import type { HostFacts } from '../../shared/model.js';
import { renderNftExport } from '../../render/nft-export.js';
import { renderShScript } from '../../render/sh.js';
import { withBackend } from '../common.js';
import { configPath } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';

export const EXPORT_FORMATS = ['nft', 'sh'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Where net_cls would be when the host has none mounted yet (apply mounts it there). */
const DEFAULT_NET_CLS = '/sys/fs/cgroup/net_cls';

/** The text `netcg export` prints for `config` on a host described by `host` (link routes and auto gateways of the target namespace). */
export function exportPolicy(
  config: Config,
  format: ExportFormat,
  host: Pick<HostFacts, 'linkRoutes' | 'defaultGateways' | 'users'>,
): string {
  const cgroup2 = findCgroup2();
  const facts: HostFacts = { ...host, cgroups: { netCls: netClsAvailable(), ids: {} } };
  // As diff does: v2 profile cgroups that already exist contribute their IDs; missing ones get no map element.
  if (cgroup2) {
    const specs = compile(config, facts).cgroups.filter((c) => c.hierarchy === 'cgroupv2');
    facts.cgroups!.ids = readCgroupIds(cgroup2, ownSpecs(specs));
    facts.cgroups!.existing = readExistingCgroups(cgroup2, specs);
  }
  const input = {
    config,
    desired: compile(config, facts),
    roots: { netCls: findNetCls() ?? DEFAULT_NET_CLS, cgroup2 },
    ...(facts.cgroups?.existing ? { existing: facts.cgroups.existing } : {}),
    ...(host.users ? { users: host.users } : {}),
  };
  return format === 'nft' ? renderNftExport(input) : renderShScript(input);
}

export function action(opts: {
  config?: string;
  trustConfig?: boolean;
  format: string;
  netns?: string;
}): void {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new NetcgError('EUSAGE', `unknown export format '${opts.format}': use nft or sh`);
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
  const host = withBackend('netlink', opts.netns, (b) => readHostFacts(b, config));
  process.stdout.write(exportPolicy(config, opts.format as ExportFormat, host));
}
