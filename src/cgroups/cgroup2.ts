// Profile cgroups in the cgroup2 (unified) hierarchy, for `match: cgroupv2`
// profiles: `<cgroup2 mount>/<cgroupParent>/<profile>`, found through
// /proc/self/mountinfo (/sys/fs/cgroup/unified on hybrid hosts, /sys/fs/cgroup on
// v2-only ones). Members are matched by the cgroup's ID, which the kernel assigns
// at mkdir: a deleted and re-created cgroup has a new ID, so IDs are read after
// the cgroups exist and are never cached across applies.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { NetcgError } from '../shared/errors.js';
import type { CgroupSpec } from '../shared/model.js';
import { addon } from '../native/index.js';
import { findCgroup2Mount, readCgroupMounts, type CgroupMount } from './mountinfo.js';
import { cgroupPids, type CgroupChange } from './netcls.js';
import { makeCgroupDirs } from './mkdir.js';
import { handToOwner } from './owner.js';

/**
 * The files a delegatee must own (Documentation/admin-guide/cgroup-v2.rst,
 * "Delegation Containment"): the directory (to create sub-cgroups), cgroup.procs
 * and cgroup.threads (to move processes and threads within the subtree), and
 * cgroup.subtree_control (to enable controllers below). Everything else, notably
 * the interface files that set limits on the delegated cgroup itself, stays root's.
 */
export const DELEGATED_FILES = ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'] as const;

export function findCgroup2(mounts: CgroupMount[] = readCgroupMounts()): string | undefined {
  return findCgroup2Mount(mounts)?.mountPoint;
}

/** The cgroup2 mount point, or a NetcgError (cgroup v2 profiles need one). */
export function requireCgroup2(): string {
  const root = findCgroup2();
  if (!root)
    throw new NetcgError(
      'ECGROUP',
      'no cgroup2 hierarchy is mounted (see /proc/self/mountinfo); match: cgroupv2 profiles need one, e.g. mount -t cgroup2 none /sys/fs/cgroup/unified',
    );
  return root;
}

/** Creates one v2 profile cgroup and delegates it to the owner. Returns what it did. */
export function ensureV2ProfileCgroup(root: string, spec: CgroupSpec): CgroupChange {
  const dir = join(root, spec.path);
  let action: CgroupChange['action'] = 'unchanged';
  try {
    // One mkdir in the usual cases: EEXIST (there already) or success; the parent only when it is missing.
    if (makeCgroupDirs(dir)) action = 'created';
    if (
      spec.owner !== undefined &&
      handToOwner(spec.profile, spec.owner, [dir, ...DELEGATED_FILES.map((f) => join(dir, f))])
    ) {
      if (action === 'unchanged') action = 'updated';
    }
  } catch (err) {
    if (err instanceof NetcgError) throw err;
    throw new NetcgError(
      'ECGROUP',
      `profile ${spec.profile}: cannot set up cgroup ${dir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { profile: spec.profile, path: dir, action };
}

/** The cgroup2 IDs of the given profile cgroups that exist (what `socket cgroupv2` compares). */
export function readCgroupIds(
  root: string,
  specs: readonly Pick<CgroupSpec, 'profile' | 'path'>[],
): Record<string, bigint> {
  const ids: Record<string, bigint> = {};
  for (const spec of specs) {
    const dir = join(root, spec.path);
    if (existsSync(dir)) ids[spec.profile] = addon.cgroupId(dir);
  }
  return ids;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(dir, d.name));
}

function membersBelow(dir: string): number {
  return cgroupPids(dir).length + subdirs(dir).reduce((n, d) => n + membersBelow(d), 0);
}

function removeTree(dir: string): void {
  for (const d of subdirs(dir)) removeTree(d);
  rmdirSync(dir);
}

/**
 * Removes a v2 profile cgroup and the sub-cgroups its owner may have made in the
 * delegated subtree, if no process is left anywhere in it (else kept, like net_cls).
 */
export function removeV2ProfileCgroup(root: string, profile: string, path: string): CgroupChange {
  const dir = join(root, path);
  if (!existsSync(dir)) return { profile, path: dir, action: 'unchanged', detail: 'absent' };
  const members = membersBelow(dir);
  if (members > 0)
    return { profile, path: dir, action: 'kept', detail: `${members} member process(es) still inside` };
  removeTree(dir);
  return { profile, path: dir, action: 'removed' };
}
