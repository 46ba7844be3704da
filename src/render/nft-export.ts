// DesiredState → an auditable `nft -f` file: exactly the table script the nft
// backend loads (so `nft -f` of it gives the same `nft list` as `netcg apply`),
// followed by what is not nf_tables — the ip rules and routes netcg adds through
// rtnetlink, and the cgroups it creates — as comments holding runnable `ip`
// commands. Comments keep the file loadable by nft while showing an auditor the
// whole policy in one place.
import type { Config } from '../config/index.js';
import type { DesiredState } from '../shared/model.js';
import type { IpOp } from './ip.js';
import { renderNftTableScript } from './nft.js';
import { ipCommandLines } from './sh.js';

export interface NftExportInput {
  config: Config;
  desired: DesiredState;
  roots: { netCls: string; cgroup2?: string | undefined };
}

export function renderNftExport({ config, desired, roots }: NftExportInput): string {
  const t = `${desired.table.family} ${desired.table.name}`;
  const head = [
    '#!/usr/sbin/nft -f',
    `# netcg policy from ${config.file}: the nf_tables part, exactly as \`netcg apply\` installs it`,
    `# (netcg export --format nft). Loading this file replaces table ${t} in one transaction;`,
    '# nothing else in the ruleset is touched. Counters start at zero.',
  ];
  const ops: IpOp[] = [
    ...desired.routes.map((route): IpOp => ({ verb: 'add', kind: 'route', route })),
    ...desired.ipRules.map((rule): IpOp => ({ verb: 'add', kind: 'rule', rule })),
  ];
  const tail = ['#', '# Not nf_tables: netcg also adds these ip routes and rules (rtnetlink, protocol 110):'];
  tail.push(
    ...(ops.length > 0 ? ipCommandLines(ops).map((l) => `#   ${l}`) : ['#   (none: no profile has a route)']),
  );
  tail.push('#', '# and these cgroups, whose members the table matches:');
  for (const c of desired.cgroups) {
    if (c.existing) {
      tail.push(
        `#   ${roots.cgroup2 ?? '<cgroup2>'}/${c.path}  (existing cgroup, matched in place by ID; netcg never creates or removes it; map elements as matched when exported, followed by netcg watch)`,
      );
      continue;
    }
    tail.push(
      c.hierarchy === 'net_cls'
        ? `#   ${roots.netCls}/${c.path}  net_cls.classid ${c.classid}${c.owner !== undefined ? `  owner ${c.owner}` : ''}`
        : `#   ${roots.cgroup2 ?? '<cgroup2>'}/${c.path}  (cgroup v2, matched by ID)${c.owner !== undefined ? `  owner ${c.owner}` : ''}`,
    );
  }
  return `${head.join('\n')}\n${renderNftTableScript(desired.table)}${tail.join('\n')}\n`;
}
