// compile: Config + HostFacts → DesiredState. Pure and deterministic: the same
// input gives a deep-equal output, with objects in the order the backends create
// them (profiles in the config file's order).
import type { Config } from '../config/index.js';
import type { CgroupSpec, DesiredState, HostFacts } from '../model.js';
import { profileLevel, resolveMatch } from '../cgroups/match.js';
import { compileIpRules, compileRoutes } from './routing.js';
import { compileTable } from './table.js';

export { compileTable, dispatchMapName, dispatchV2MapName, profileChainName, type V2Matching } from './table.js';
export { compileIpRules, compileRoutes } from './routing.js';
export { compileSysctls, type SysctlValues } from './sysctls.js';

/** Every profile's hierarchy on a host described by `facts` (net_cls assumed available when facts say nothing). */
export function resolveMatches(config: Config, facts: HostFacts): Record<string, CgroupSpec['hierarchy']> {
  const netCls = facts.cgroups?.netCls ?? true;
  return Object.fromEntries(Object.values(config.profiles).map((p) => [p.name, resolveMatch(p, netCls)]));
}

export function compile(config: Config, facts: HostFacts): DesiredState {
  const profiles = Object.values(config.profiles);
  const matches = resolveMatches(config, facts);
  const cgroups = profiles.map((p): CgroupSpec => {
    const hierarchy = matches[p.name]!;
    const spec: CgroupSpec = { profile: p.name, path: `${config.cgroupParent}/${p.name}`, hierarchy };
    if (hierarchy === 'net_cls') spec.classid = p.classid!;
    if (p.owner !== undefined) spec.owner = p.owner;
    return spec;
  });
  const v2 = {
    profiles: new Set(profiles.filter((p) => matches[p.name] === 'cgroupv2').map((p) => p.name)),
    ids: facts.cgroups?.ids ?? {},
    level: profileLevel(config.cgroupParent),
  };
  return {
    table: compileTable(config.table, profiles, v2),
    ipRules: compileIpRules(profiles, config.ipRulePriority),
    routes: compileRoutes(profiles, facts),
    cgroups,
  };
}
