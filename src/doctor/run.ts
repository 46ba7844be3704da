// runDoctor: all checks over the gathered inputs, in the order they are printed. Pure.
import { resolveMatch } from '../compile/match.js';
import { findNetClsMount, parseCgroupMounts } from '../cgroups/mountinfo.js';
import { parseNetClsEnabled } from '../cgroups/match.js';
import { checkForeignChains } from './chains.js';
import { checkExistingCgroups } from './existing.js';
import { error, info, type Finding } from './finding.js';
import { checkLibnftnl, checkIptablesLegacy, checkResolver } from './host.js';
import type { DoctorInputs } from './inputs.js';
import { checkCgroups, checkMixedMatching, checkNftables, type CgroupUse } from './kernel.js';
import { checkGateways, checkIpv6, checkRpFilter, checkRulePriority } from './net.js';
import { checkRedirectServers } from './servers.js';

export function runDoctor(i: DoctorInputs): Finding[] {
  const profiles = Object.values(i.config?.profiles ?? {});
  const netCls = parseNetClsEnabled(i.procCgroups);
  const use: CgroupUse = { netCls: [], cgroupv2: [] };
  for (const p of profiles) use[resolveMatch(p, netCls) === 'net_cls' ? 'netCls' : 'cgroupv2'].push(p.name);
  const where = i.netns ? `in ${i.netns}` : 'in this network namespace';
  const out: Finding[] = [];
  if (i.configError)
    out.push(
      error(
        'config',
        `the config cannot be used: ${i.configError}`,
        'fix the file (`netcg diff -c FILE` shows each problem), or pass another with -c',
      ),
    );
  else if (!i.config)
    out.push(
      info('config', 'no config file: checking the host only (pass -c FILE to check a config against it)'),
    );
  else
    out.push(
      info(
        'config',
        `checking ${i.config.file} (${profiles.length} profile${profiles.length === 1 ? '' : 's'})`,
      ),
    );
  for (const f of i.configTrust ?? [])
    out.push(
      error(
        'config-trust',
        `${f.message}: netcg, run as root, refuses this config`,
        `${f.fix} (or pass --trust-config)`,
      ),
    );
  out.push(checkLibnftnl(i.libnftnl));
  out.push(...checkNftables(i.probe, where));
  out.push(...checkCgroups(i.procCgroups, i.mountinfo, use));
  out.push(...checkExistingCgroups(profiles, i.existingCgroups));
  out.push(
    checkMixedMatching(i.kernelRelease, use, findNetClsMount(parseCgroupMounts(i.mountinfo)) !== undefined),
  );
  out.push(
    ...checkRpFilter(
      profiles.flatMap((p) => (p.route ? [p.route.via] : [])),
      i.sysctl,
    ),
  );
  out.push(...checkGateways(profiles, i.defaultGateways));
  if (i.config) out.push(...checkRulePriority(profiles, i.config.ipRulePriority, i.foreignRules));
  out.push(
    checkIpv6(i.sysctl, i.ifInet6, {
      reject: profiles.filter((p) => p.ipv6).map((p) => p.name),
      dns: profiles.filter((p) => p.dns).map((p) => p.name),
    }),
  );
  out.push(
    ...checkResolver(
      i.nsswitch,
      i.processes,
      profiles.filter((p) => p.dns).map((p) => p.name),
    ),
  );
  out.push(
    ...checkRedirectServers(
      i.servers,
      profiles.some((p) => p.dns !== undefined || p.proxy !== undefined),
    ),
  );
  out.push(checkIptablesLegacy(i.ipTablesNames, i.ip6TablesNames));
  out.push(...checkForeignChains(i.chains, i.config?.table ?? 'netcg'));
  return out;
}
