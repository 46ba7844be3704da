// apply, diff and down: the one place that sequences kernel effects.
//
// apply reads netcg's objects back, plans the difference (src/plan) and executes
// exactly that plan. Order is chosen so that a failure at any step leaves the
// kernel as it was:
//   1. everything that can be checked is checked first (config, interfaces);
//   2. cgroups, then rtnetlink additions (routes before the rules that point at
//      them), each undone in reverse if a later step fails;
//   3. all nf_tables changes in ONE batch, guarded by the generation id of the dump
//      the plan was made from: if anyone changed nf_tables meanwhile, the kernel
//      refuses the batch (ERESTART) and apply re-reads and re-plans;
//   4. rtnetlink removals; if one fails, the table is planned back to what it was
//      and the additions are undone.
import type { Config } from './config/index.js';
import { compile } from './compile/index.js';
import { NetcgError } from './errors.js';
import type { DesiredState, TableState } from './model.js';
import { type Backend, type ReadState, type RtnlOp } from './backends/types.js';
import {
  ensureNetCls,
  ensureProfileCgroup,
  findNetCls,
  listProfileCgroups,
  removeParentIfEmpty,
  removeProfileCgroup,
  type CgroupChange,
  type NetClsHierarchy,
} from './cgroups/netcls.js';
import { lockNamespace } from './lock.js';
import { addon } from './native/index.js';
import type { NftOp } from './native/types.js';
import { isEmptyPlan, plan, splitRtnl, summarize, type Plan, type PlanSummary } from './plan/plan.js';
import { replaceTableOps } from './backends/netlink.js';

/** How often apply re-reads and re-plans when nf_tables changed under it. */
export const MAX_ATTEMPTS = 5;

export interface ApplyReport {
  backend: string;
  /** The plan that was executed (empty: the kernel already matched). */
  plan: Plan;
  summary: PlanSummary;
  /** False when nothing was sent to the kernel. */
  changed: boolean;
  /** Plans made; more than 1 when a concurrent nf_tables change forced a re-plan. */
  attempts: number;
  table: { family: 'inet'; name: string; maps: number; chains: number; rules: number };
  cgroups: CgroupChange[];
  netCls: NetClsHierarchy;
  warnings: string[];
}

export interface DownReport {
  backend: string;
  table: { name: string; deleted: boolean };
  ipRules: ReadState['ipRules'];
  routes: ReadState['routes'];
  cgroups: CgroupChange[];
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

function tableCounts(t: TableState): ApplyReport['table'] {
  return { family: 'inet', name: t.name, maps: t.maps.length, chains: t.chains.length, rules: t.chains.reduce((n, c) => n + c.rules.length, 0) };
}

/** Reads netcg's objects; backends that cannot decode tables report none (the plan then rebuilds the table). */
export function readState(backend: Backend, table: string): ReadState {
  if (backend.readState) return backend.readState(table);
  const owned = backend.readOwned(table);
  return { ipRules: owned.ipRules, routes: owned.routes };
}

/** Sends a plan's nf_tables part: the ops themselves where the backend can, else the whole desired table. */
function commitTable(backend: Backend, ops: NftOp[], desired: TableState, genid: number | undefined): void {
  if (backend.commitNft) backend.commitNft(ops, genid);
  else backend.replaceTable(desired);
}

/** Puts netcg's table back to `previous` (or deletes it when there was none) after a failure later in apply. */
function restoreTable(backend: Backend, previous: TableState | undefined, name: string): void {
  if (!previous) {
    backend.deleteTable(name);
    return;
  }
  if (!backend.readState || !backend.commitNft) {
    backend.replaceTable(previous);
    return;
  }
  const now = backend.readState(name);
  const back = plan({ table: now.table, ipRules: [], routes: [] }, { table: previous, ipRules: [], routes: [], cgroups: [] });
  backend.commitNft(back.nft.length > 0 ? back.nft : [], now.genid);
}

/** What `netcg diff` shows and `netcg apply` would do. Reads only. */
export function diff(config: Config, backend: Backend): { plan: Plan; desired: DesiredState; current: ReadState } {
  const desired = compile(config, backend.hostFacts());
  const current = readState(backend, desired.table.name);
  return { plan: plan(current, desired), desired, current };
}

export function apply(config: Config, backend: Backend): ApplyReport {
  const release = lockNamespace(backend.netns);
  try {
    return applyLocked(config, backend);
  } finally {
    release();
  }
}

function isGenerationRace(err: unknown): boolean {
  return (err as { code?: string }).code === 'ERESTART';
}

function applyLocked(config: Config, backend: Backend): ApplyReport {
  const netCls = ensureNetCls(addon.mount);
  for (let attempt = 1; ; attempt++) {
    const desired = compile(config, backend.hostFacts());
    checkInterfaces(desired, backend, config);
    const current = readState(backend, desired.table.name);
    const p = plan(current, desired);
    const { before, after } = splitRtnl(p.rtnl);

    const undo: Array<() => void> = [];
    const rollback = () => {
      for (const step of undo.reverse()) {
        try {
          step();
        } catch {
          /* best effort: the original failure is what gets reported */
        }
      }
    };

    const cgroups: CgroupChange[] = [];
    try {
      for (const spec of desired.cgroups) {
        const change = ensureProfileCgroup(netCls.mountPoint, spec);
        cgroups.push(change);
        if (change.action === 'created') undo.push(() => removeProfileCgroup(netCls.mountPoint, spec.profile, spec.path));
      }
      for (const op of before) {
        backend.rtnl(op);
        undo.push(() => backend.rtnl(invert(op)));
      }
      if (p.nft.length > 0 || (!backend.commitNft && !isEmptyPlan(p))) {
        commitTable(backend, p.nft, desired.table, current.genid);
        undo.push(() => restoreTable(backend, current.table, desired.table.name));
      }
      for (const op of after) {
        try {
          backend.rtnl(op);
        } catch (err) {
          // Already gone is what a removal wants (someone removed it since the read).
          if (op.verb === 'del' && ['ENOENT', 'ESRCH'].includes((err as { code?: string }).code ?? '')) continue;
          throw err;
        }
        undo.push(() => backend.rtnl(invert(op)));
      }
    } catch (err) {
      rollback();
      if (isGenerationRace(err) && attempt < MAX_ATTEMPTS) continue;
      if (isGenerationRace(err)) {
        throw new NetcgError('ERESTART', `nf_tables kept changing while netcg applied (${attempt} attempts); nothing was changed. Is another tool rewriting the ruleset?`, { cause: err });
      }
      throw err;
    }

    // The new policy is in force; drop the cgroups of profiles the config no longer has.
    const warnings: string[] = [];
    const wanted = new Set(Object.keys(config.profiles));
    for (const name of listProfileCgroups(netCls.mountPoint, config.cgroupParent)) {
      if (wanted.has(name)) continue;
      const change = removeProfileCgroup(netCls.mountPoint, name, `${config.cgroupParent}/${name}`);
      cgroups.push(change);
      if (change.action === 'kept') warnings.push(`cgroup of removed profile ${name} kept: ${change.detail}`);
    }

    return {
      backend: backend.name,
      plan: p,
      summary: summarize(p),
      changed: !isEmptyPlan(p),
      attempts: attempt,
      table: tableCounts(desired.table),
      cgroups,
      netCls,
      warnings,
    };
  }
}

/** Removes everything netcg created for `config`, and nothing else. */
export function down(config: Config, backend: Backend): DownReport {
  const release = lockNamespace(backend.netns);
  try {
    const owned = backend.readOwned(config.table);
    const deleted = backend.deleteTable(config.table);
    // Rules before routes: a marked packet must never find a rule whose table is empty.
    for (const rule of owned.ipRules) backend.rtnl({ verb: 'del', kind: 'rule', rule });
    for (const route of owned.routes) backend.rtnl({ verb: 'del', kind: 'route', route });
    const cgroups: CgroupChange[] = [];
    const root = findNetCls();
    if (root) {
      for (const name of listProfileCgroups(root, config.cgroupParent)) {
        cgroups.push(removeProfileCgroup(root, name, `${config.cgroupParent}/${name}`));
      }
      removeParentIfEmpty(root, config.cgroupParent);
    }
    return { backend: backend.name, table: { name: config.table, deleted }, ipRules: owned.ipRules, routes: owned.routes, cgroups };
  } finally {
    release();
  }
}

export { replaceTableOps };
