// compile: Config + HostFacts → DesiredState. Pure and deterministic: the same
// input gives a deep-equal output, with objects in the order the backends create
// them (profiles in the config file's order).
import { portServersOf } from './servers.js';
import type { Config, ProfileConfig } from '../config/index.js';
import type { CgroupSpec, DesiredState, HostFacts } from '../shared/model.js';
import { profileLevel, resolveMatch } from './match.js';
import { compileIpRules, compileRoutes, routesOf } from './routing.js';
import { compileTable, memoizedCgroupSpec, newMemoScope, type MemoScope } from './table.js';

export { compileSysctls } from './sysctls.js';
export { gatewayDevicesOf } from './routing.js';

function cgroupOf(config: Config, p: ProfileConfig, netCls: boolean): CgroupSpec {
  const hierarchy = resolveMatch(p, netCls);
  if (p.cgroup !== undefined)
    return { profile: p.name, path: p.cgroup.slice(1), hierarchy: 'cgroupv2', existing: true };
  return {
    profile: p.name,
    path: `${config.cgroupParent}/${p.name}`,
    hierarchy,
    ...(hierarchy === 'net_cls' ? { classid: p.classid! } : {}),
    ...(p.owner !== undefined ? { owner: p.owner } : {}),
  };
}

/** With a memo scope, unchanged profiles get the very same (frozen) spec objects as last time. */
function cgroupsOf(
  config: Config,
  profiles: ProfileConfig[],
  facts: HostFacts,
  scope?: MemoScope,
): CgroupSpec[] {
  const netCls = facts.cgroups?.netCls ?? true;
  if (!scope) return profiles.map((p) => cgroupOf(config, p, netCls));
  const key = `${netCls}/${config.cgroupParent}`;
  return profiles.map((p) => memoizedCgroupSpec(p, scope, key, () => cgroupOf(config, p, netCls)));
}

export function compile(config: Config, facts: HostFacts): DesiredState {
  return compileSession().compile(config, facts);
}

/** compile() and compileCgroups() for one apply or diff call; see compileSession. */
export interface CompileSession {
  compile(config: Config, facts: HostFacts): DesiredState;
  cgroups(config: Config, facts: HostFacts): CgroupSpec[];
  /** The config's profiles in its order (the order of compile's cgroups). */
  profiles(config: Config): readonly ProfileConfig[];
}

/**
 * compile() for several calls on one unchanged Config object (apply compiles the
 * cgroups first, then everything, again once the cgroup2 IDs are known): the
 * profile list, the cgroup specs and the memo's keys (src/compile/table.ts) are
 * made once, not once per call. One session per apply/diff call only: it trusts
 * that the config does not change while it lives.
 */
export function compileSession(): CompileSession {
  const scope = newMemoScope();
  let seen: { config: Config; profiles: ProfileConfig[]; cgroups: Map<boolean, CgroupSpec[]> } | undefined;
  const profilesOf = (config: Config) => {
    if (seen?.config !== config)
      seen = { config, profiles: Object.values(config.profiles), cgroups: new Map() };
    return seen;
  };
  const cgroups = (config: Config, facts: HostFacts) => {
    const s = profilesOf(config);
    const netCls = facts.cgroups?.netCls ?? true;
    let specs = s.cgroups.get(netCls);
    if (!specs) s.cgroups.set(netCls, (specs = cgroupsOf(config, s.profiles, facts, scope)));
    return specs;
  };
  return {
    cgroups: (config, facts) => cgroups(config, facts).slice(),
    profiles: (config) => profilesOf(config).profiles,
    compile(config, facts) {
      const { profiles } = profilesOf(config);
      const routes = routesOf(profiles);
      const specs = cgroups(config, facts);
      const v2Profiles = new Set<string>();
      for (const c of specs) if (c.hierarchy === 'cgroupv2') v2Profiles.add(c.profile);
      const v2 = {
        profiles: v2Profiles,
        ids: facts.cgroups?.ids ?? {},
        existing: facts.cgroups?.existing ?? {},
        level: profileLevel(config.cgroupParent),
      };
      return {
        table: compileTable(config.table, profiles, v2, scope, portServersOf(config, profiles, facts)),
        ipRules: compileIpRules(profiles, config.ipRulePriority, routes),
        routes: compileRoutes(profiles, facts, routes),
        cgroups: specs.slice(),
      };
    },
  };
}
