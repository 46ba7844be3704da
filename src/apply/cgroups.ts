// apply's cgroup steps: mount the hierarchies the profiles need, make sure every
// profile cgroup exists as its spec says (undoably), learn the cgroup2 IDs compile
// needs as facts, and, once the new policy is in force, drop the cgroups no profile
// uses any more. With a CgroupMemory (the Reconciler's), cgroups verified by an
// earlier apply under an unchanged parent are not checked again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import {
  ensureV2ProfileCgroup,
  findCgroup2,
  readCgroupIds,
  removeV2ProfileCgroup,
  requireCgroup2,
} from '../cgroups/cgroup2.js';
import {
  ensureNetCls,
  ensureProfileCgroup,
  findNetCls,
  listProfileCgroups,
  removeParentIfEmpty,
  removeProfileCgroup,
  type CgroupChange,
  type NetClsHierarchy,
} from '../cgroups/netcls.js';
import { ownSpecs, readExistingCgroups } from '../cgroups/existing.js';
import type { CgroupMemory, VerifiedCgroup, VerifiedParent } from '../cgroups/verified.js';
import { sameSpec } from '../cgroups/verified.js';
import { addon } from '../native/index.js';
import type { CgroupSpec, ExistingCgroup } from '../shared/model.js';
import type { UndoLog } from './undo.js';

/** The hierarchies an apply's profiles use, mounted (net_cls) or found (cgroup2). */
export interface Hierarchies {
  readonly specs: readonly CgroupSpec[];
  readonly netCls?: NetClsHierarchy;
  readonly cgroup2?: string;
}

export function mountHierarchies(specs: readonly CgroupSpec[]): Hierarchies {
  const netCls = specs.some((c) => c.hierarchy === 'net_cls') ? ensureNetCls(addon.mount) : undefined;
  const cgroup2 = specs.some((c) => c.hierarchy === 'cgroupv2') ? requireCgroup2() : undefined;
  return { specs, ...(netCls ? { netCls } : {}), ...(cgroup2 ? { cgroup2 } : {}) };
}

/** One attempt's cgroup bookkeeping, per hierarchy root. */
export interface CgroupRun {
  readonly h: Hierarchies;
  readonly parentPath: string;
  readonly memory: CgroupMemory | undefined;
  /** What earlier applies verified and still holds (Reconciler only). */
  readonly trusted: Map<string, VerifiedParent | undefined>;
  /** What this attempt verified (remembered for the next apply on success). */
  readonly verified: Map<string, Map<string, VerifiedCgroup>>;
  /** What apply reports. */
  readonly changes: CgroupChange[];
}

function rootOf(h: Hierarchies, spec: CgroupSpec): string {
  return spec.hierarchy === 'net_cls' ? h.netCls!.mountPoint : h.cgroup2!;
}

export function newCgroupRun(
  h: Hierarchies,
  parentPath: string,
  memory: CgroupMemory | undefined,
): CgroupRun {
  const roots = [...new Set(h.specs.map((s) => rootOf(h, s)))];
  return {
    h,
    parentPath,
    memory,
    trusted: new Map(roots.map((root) => [root, memory?.trusted(root, parentPath)])),
    verified: new Map(roots.map((root) => [root, new Map<string, VerifiedCgroup>()])),
    changes: [],
  };
}

/** Makes every profile cgroup exist as its spec says; what it creates (parents too) is undone on rollback. */
export function ensureCgroups(run: CgroupRun, undo: UndoLog): void {
  // A parent directory this apply creates is removed on rollback too (after its
  // profile cgroups: undo runs in reverse), so a failed apply leaves no cgroup.
  for (const root of run.trusted.keys()) {
    if (!existsSync(join(root, run.parentPath))) undo.push(() => removeParentIfEmpty(root, run.parentPath));
  }
  // Existing cgroups (`cgroup:` profiles) are the service's: never created, chowned or removed.
  for (const spec of ownSpecs(run.h.specs)) ensureCgroup(run, spec, undo);
}

function ensureCgroup(run: CgroupRun, spec: CgroupSpec, undo: UndoLog): void {
  const root = rootOf(run.h, spec);
  const known = run.trusted.get(root)?.cgroups.get(spec.profile);
  if (known && sameSpec(known.spec, spec)) {
    run.changes.push({ profile: spec.profile, path: known.dir, action: 'unchanged' });
    run.verified.get(root)!.set(spec.profile, known);
    return;
  }
  const change =
    spec.hierarchy === 'net_cls' ? ensureProfileCgroup(root, spec) : ensureV2ProfileCgroup(root, spec);
  run.changes.push(change);
  // compile's specs are frozen (never changed later), so no private copy is needed.
  if (run.memory)
    run.verified
      .get(root)!
      .set(spec.profile, { spec: Object.isFrozen(spec) ? spec : { ...spec }, dir: change.path });
  if (change.action === 'created') {
    const remove = spec.hierarchy === 'net_cls' ? removeProfileCgroup : removeV2ProfileCgroup;
    undo.push(() => remove(root, spec.profile, spec.path));
  }
}

/** The cgroup2 IDs of the v2 profiles (they exist now): remembered ones, the others read. */
export function cgroup2Ids(run: CgroupRun): Record<string, bigint> {
  const cgroup2 = run.h.cgroup2;
  if (!cgroup2) return {};
  const v2 = ownSpecs(run.h.specs).filter((c) => c.hierarchy === 'cgroupv2');
  const known = run.verified.get(cgroup2)!;
  const ids = readCgroupIds(
    cgroup2,
    v2.filter((c) => known.get(c.profile)?.id === undefined),
  );
  for (const c of v2) {
    const v = known.get(c.profile);
    if (v?.id !== undefined) ids[c.profile] = v.id;
    else if (v && ids[c.profile] !== undefined) known.set(c.profile, { ...v, id: ids[c.profile]! });
  }
  return ids;
}

/**
 * The cgroups the existing-cgroup profiles' patterns match, read now on every
 * apply and diff (never remembered: systemd re-creates a service's cgroup, with a
 * new ID, on every restart).
 */
export function existingCgroups(run: CgroupRun): Record<string, readonly ExistingCgroup[]> {
  return run.h.cgroup2 ? readExistingCgroups(run.h.cgroup2, run.h.specs) : {};
}

/** cgroup2 IDs of `specs` for diff: those `memory` still vouches for, the others read now. */
export function currentCgroup2Ids(
  root: string,
  parentPath: string,
  specs: CgroupSpec[],
  memory: CgroupMemory | undefined,
): Record<string, bigint> {
  const own = ownSpecs(specs);
  const known = memory?.knownIds(root, parentPath, own) ?? new Map<string, bigint>();
  const ids = readCgroupIds(
    root,
    own.filter((c) => !known.has(c.profile)),
  );
  for (const [profile, id] of known) ids[profile] = id;
  return ids;
}

type Remove = typeof removeProfileCgroup;

/**
 * After the commit (the new policy is in force): drops the cgroups of profiles the
 * config no longer has, and those left in the other hierarchy by a profile whose
 * match changed; remembers what was verified. Returns warnings for cgroups kept.
 */
export function removeStaleCgroups(run: CgroupRun): string[] {
  const warnings: string[] = [];
  const stale: Array<[CgroupSpec['hierarchy'], string | undefined, Remove]> = [
    ['net_cls', run.h.netCls?.mountPoint ?? findNetCls(), removeProfileCgroup],
    ['cgroupv2', run.h.cgroup2 ?? findCgroup2(), removeV2ProfileCgroup],
  ];
  for (const [hierarchy, root, remove] of stale) {
    if (root) removeStaleUnder(run, hierarchy, root, remove, warnings);
  }
  return warnings;
}

function removeStaleUnder(
  run: CgroupRun,
  hierarchy: CgroupSpec['hierarchy'],
  root: string,
  remove: Remove,
  warnings: string[],
): void {
  // Every wanted profile of this hierarchy, when this apply verified with a memory (Reconciler).
  const mine = run.memory ? run.verified.get(root) : undefined;
  let children = childrenOf(run, root, mine);
  // An existing-cgroup profile wants nothing below the parent: a directory left there by its name is stale.
  const wanted = new Lazy(() => new Map(ownSpecs(run.h.specs).map((c) => [c.profile, c.hierarchy])));
  const gone: string[] = [];
  for (const name of children) {
    if (mine ? mine.has(name) : wanted.get().get(name) === hierarchy) continue;
    const change = remove(root, name, `${run.parentPath}/${name}`);
    run.changes.push(change);
    if (change.action !== 'kept') gone.push(name);
    else
      warnings.push(
        `cgroup ${change.path} of ${wanted.get().has(name) ? 'profile' : 'removed profile'} ${name} is no longer used but kept: ${change.detail}`,
      );
  }
  if (gone.length > 0) {
    const left = new Set(children);
    for (const name of gone) left.delete(name);
    children = left;
  }
  if (!ownSpecs(run.h.specs).some((c) => c.hierarchy === hierarchy))
    removeParentIfEmpty(root, run.parentPath);
  else if (run.memory && mine) run.memory.record(root, run.parentPath, mine, children);
}

/**
 * The parent's subdirectories. Under a parent the memory vouches for they are known
 * without a listing: the remembered ones, plus those just verified (all of them wanted).
 */
function childrenOf(
  run: CgroupRun,
  root: string,
  mine: Map<string, VerifiedCgroup> | undefined,
): ReadonlySet<string> {
  const t = run.trusted.get(root);
  if (!t || !mine) return new Set(listProfileCgroups(root, run.parentPath));
  // Copied only when something was added (the remembered set is kept as it is otherwise).
  let added: Set<string> | undefined;
  for (const name of mine.keys()) if (!t.children.has(name)) (added ??= new Set(t.children)).add(name);
  return added ?? t.children;
}

/** A value computed on first use (the wanted-profile map is needed only when something is stale). */
class Lazy<T> {
  private value: T | undefined;
  constructor(private readonly make: () => T) {}
  get(): T {
    return (this.value ??= this.make());
  }
}
