// Apply and down: the one place that sequences kernel effects. Order is chosen so
// that a failure at any step leaves the kernel as it was:
//   1. everything that can be checked is checked first (config, interfaces);
//   2. cgroups, then rtnetlink additions (routes before the rules that point at them),
//      each undone in reverse if a later step fails;
//   3. the nf_tables table, replaced in ONE transaction (all or nothing);
//   4. only then stale ip rules and routes are removed.
import type { Config } from './config/index.js';
import { compile } from './compile/index.js';
import { NetcgError } from './errors.js';
import type { DesiredState, IpRuleSpec, RouteSpec } from './model.js';
import { routeKey, ruleKey, type Backend, type OwnedState, type RtnlOp } from './backends/types.js';
import {
  ensureNetCls,
  ensureProfileCgroup,
  findNetCls as findNetClsRoot,
  listProfileCgroups,
  removeParentIfEmpty,
  removeProfileCgroup,
  type CgroupChange,
  type NetClsHierarchy,
} from './cgroups/netcls.js';
import { addon } from './native/index.js';
import { lockNamespace } from './lock.js';

export interface ApplyReport {
  backend: string;
  table: { family: 'inet'; name: string; maps: number; chains: number; rules: number };
  ipRules: { added: IpRuleSpec[]; removed: IpRuleSpec[]; unchanged: number };
  routes: { added: RouteSpec[]; removed: RouteSpec[]; unchanged: number };
  cgroups: CgroupChange[];
  netCls: NetClsHierarchy;
  warnings: string[];
}

export interface DownReport {
  backend: string;
  table: { name: string; deleted: boolean };
  ipRules: IpRuleSpec[];
  routes: RouteSpec[];
  cgroups: CgroupChange[];
}

function diffBy<T>(have: T[], want: T[], key: (x: T) => string): { add: T[]; del: T[]; same: number } {
  const haveKeys = new Set(have.map(key));
  const wantKeys = new Set(want.map(key));
  return {
    add: want.filter((x) => !haveKeys.has(key(x))),
    del: have.filter((x) => !wantKeys.has(key(x))),
    same: want.filter((x) => haveKeys.has(key(x))).length,
  };
}

function invert(op: RtnlOp): RtnlOp {
  return { ...op, verb: op.verb === 'add' ? 'del' : 'add' } as RtnlOp;
}

/** Refuses, before any change, a state that names interfaces the namespace does not have. */
function checkInterfaces(desired: DesiredState, backend: Backend, config: Config): void {
  const names = new Set(backend.links().map((l) => l.name));
  const missing = [...new Set(desired.routes.map((r) => r.dev))].filter((d) => !names.has(d));
  if (missing.length === 0) return;
  const users = Object.entries(config.profiles)
    .filter(([, p]) => p.route && missing.includes(p.route.via))
    .map(([name, p]) => `profile ${name} (route.via: ${p.route!.via})`);
  throw new NetcgError(
    'ENODEV',
    `interface ${missing.join(', ')} does not exist in the target network namespace; needed by ${users.join(', ')}. Nothing was changed.`,
  );
}

export function apply(config: Config, backend: Backend): ApplyReport {
  const release = lockNamespace(backend.netns);
  try {
    return applyLocked(config, backend);
  } finally {
    release();
  }
}

function applyLocked(config: Config, backend: Backend): ApplyReport {
  const desired = compile(config, backend.hostFacts());
  checkInterfaces(desired, backend, config);
  const owned: OwnedState = backend.readOwned(desired.table.name);
  const rules = diffBy(owned.ipRules, desired.ipRules, ruleKey);
  const routes = diffBy(owned.routes, desired.routes, routeKey);

  const undo: Array<() => void> = [];
  const rollback = () => {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        /* best effort: report the original failure, not the rollback's */
      }
    }
  };

  const netCls = ensureNetCls(addon.mount);
  const cgroups: CgroupChange[] = [];
  try {
    for (const spec of desired.cgroups) {
      const change = ensureProfileCgroup(netCls.mountPoint, spec);
      cgroups.push(change);
      if (change.action === 'created') undo.push(() => removeProfileCgroup(netCls.mountPoint, spec.profile, spec.path));
    }
    const additions: RtnlOp[] = [
      ...routes.add.map((route): RtnlOp => ({ verb: 'add', kind: 'route', route })),
      ...rules.add.map((rule): RtnlOp => ({ verb: 'add', kind: 'rule', rule })),
    ];
    for (const op of additions) {
      backend.rtnl(op);
      undo.push(() => backend.rtnl(invert(op)));
    }
    backend.replaceTable(desired.table);
  } catch (err) {
    rollback();
    throw err;
  }

  // The new policy is in force; what remains is removing what it no longer uses.
  const warnings: string[] = [];
  const removals: RtnlOp[] = [
    ...rules.del.map((rule): RtnlOp => ({ verb: 'del', kind: 'rule', rule })),
    ...routes.del.map((route): RtnlOp => ({ verb: 'del', kind: 'route', route })),
  ];
  for (const op of removals) {
    try {
      backend.rtnl(op);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') warnings.push(`could not remove stale ${op.kind}: ${(err as Error).message}`);
    }
  }
  const wanted = new Set(Object.keys(config.profiles));
  for (const name of listProfileCgroups(netCls.mountPoint, config.cgroupParent)) {
    if (wanted.has(name)) continue;
    const change = removeProfileCgroup(netCls.mountPoint, name, `${config.cgroupParent}/${name}`);
    cgroups.push(change);
    if (change.action === 'kept') warnings.push(`cgroup of removed profile ${name} kept: ${change.detail}`);
  }

  return {
    backend: backend.name,
    table: {
      family: 'inet',
      name: desired.table.name,
      maps: desired.table.maps.length,
      chains: desired.table.chains.length,
      rules: desired.table.chains.reduce((n, c) => n + c.rules.length, 0),
    },
    ipRules: { added: rules.add, removed: rules.del, unchanged: rules.same },
    routes: { added: routes.add, removed: routes.del, unchanged: routes.same },
    cgroups,
    netCls,
    warnings,
  };
}

/** Removes everything netcg created for `config`, and nothing else. */
export function down(config: Config, backend: Backend): DownReport {
  const release = lockNamespace(backend.netns);
  try {
    return downLocked(config, backend);
  } finally {
    release();
  }
}

function downLocked(config: Config, backend: Backend): DownReport {
  const owned = backend.readOwned(config.table);
  const deleted = backend.deleteTable(config.table);
  for (const rule of owned.ipRules) backend.rtnl({ verb: 'del', kind: 'rule', rule });
  for (const route of owned.routes) backend.rtnl({ verb: 'del', kind: 'route', route });
  const cgroups: CgroupChange[] = [];
  const root = findNetClsRoot();
  if (root) {
    for (const name of listProfileCgroups(root, config.cgroupParent)) {
      cgroups.push(removeProfileCgroup(root, name, `${config.cgroupParent}/${name}`));
    }
    removeParentIfEmpty(root, config.cgroupParent);
  }
  return { backend: backend.name, table: { name: config.table, deleted }, ipRules: owned.ipRules, routes: owned.routes, cgroups };
}

