// compile: Config + HostFacts → DesiredState. Pure and deterministic: the same
// input gives a deep-equal output, with objects in the order the backends create
// them (profiles in the config file's order).
import type { Config } from '../config/index.js';
import type { CgroupSpec, DesiredState, HostFacts } from '../model.js';
import { compileIpRules, compileRoutes } from './routing.js';
import { compileTable } from './table.js';

export { compileTable, dispatchMapName, profileChainName } from './table.js';
export { compileIpRules, compileRoutes } from './routing.js';

export function compile(config: Config, facts: HostFacts): DesiredState {
  const profiles = Object.values(config.profiles);
  const cgroups = profiles.map((p): CgroupSpec => {
    const spec: CgroupSpec = { profile: p.name, path: `${config.cgroupParent}/${p.name}`, hierarchy: 'net_cls', classid: p.classid };
    if (p.owner !== undefined) spec.owner = p.owner;
    return spec;
  });
  return {
    table: compileTable(config.table, profiles),
    ipRules: compileIpRules(profiles, config.ipRulePriority),
    routes: compileRoutes(profiles, facts),
    cgroups,
  };
}
