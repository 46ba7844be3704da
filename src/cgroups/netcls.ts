// Profile cgroups in the net_cls (cgroup v1) hierarchy: the recipe's
//   mkdir /sys/fs/cgroup/net_cls/<name>; echo <classid> > net_cls.classid; chown <user> tasks
// done with plain file operations (no process spawned), mounting the hierarchy
// first when the host has not.
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { NetcgError } from '../shared/errors.js';
import type { CgroupSpec } from '../shared/model.js';
import { addon } from '../native/index.js';
import { ensureRunDir, RUN_DIR } from '../shared/run-dir.js';
import { findNetClsMount, readCgroupMounts, type CgroupMount } from './mountinfo.js';
import { makeCgroupDirs } from './mkdir.js';
import { handToOwner } from './owner.js';

export interface NetClsHierarchy {
  mountPoint: string;
  /** True when this call mounted it (the host had no net_cls hierarchy). */
  mountedNow: boolean;
}

type MountFn = (source: string, target: string, fstype: string, flags: number, data: string) => void;

/** Where to mount net_cls when absent: beside the other v1 controllers when /sys/fs/cgroup is a tmpfs, else under /run. */
function defaultNetClsMountPoint(): string {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const cgroupTmpfs = mountinfo.split('\n').some((l) => / \/sys\/fs\/cgroup [^-]*- tmpfs /.test(l));
  return cgroupTmpfs ? '/sys/fs/cgroup/net_cls' : '/run/netcg/net_cls';
}

export function findNetCls(mounts: CgroupMount[] = readCgroupMounts()): string | undefined {
  return findNetClsMount(mounts)?.mountPoint;
}

/** Finds the net_cls hierarchy, mounting it if the host has none. */
export function ensureNetCls(mount: MountFn): NetClsHierarchy {
  const existing = findNetCls();
  if (existing) return { mountPoint: existing, mountedNow: false };
  const target = defaultNetClsMountPoint();
  // Under /run/netcg: a checked directory of root's, and a mount point that is no link (mount(2) follows one).
  if (target.startsWith(`${RUN_DIR}/`)) ensureRunDir();
  makeCgroupDirs(target);
  if (lstatSync(target).isSymbolicLink())
    throw new NetcgError('EUNSAFEPATH', `${target} is a symbolic link: netcg does not mount net_cls there`);
  try {
    mount('net_cls', target, 'cgroup', 0, 'net_cls');
  } catch (err) {
    throw new NetcgError(
      'ECGROUP',
      `cannot mount the net_cls cgroup hierarchy at ${target}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { mountPoint: target, mountedNow: true };
}

export interface CgroupChange {
  profile: string;
  path: string;
  action: 'created' | 'updated' | 'unchanged' | 'removed' | 'kept';
  detail?: string;
}

function readClassid(dir: string): number {
  return Number(addon.cgroupReadFile(dir, 'net_cls.classid').trim());
}

function isMissing(err: unknown): boolean {
  return (err as { code?: string }).code === 'ENOENT';
}

/**
 * Creates or updates one profile cgroup. Returns what it did; throws a NetcgError
 * naming the path. The usual case (it exists and is right) costs one read: the
 * classid is read first, and only its absence leads to creating anything.
 */
export function ensureProfileCgroup(root: string, spec: CgroupSpec): CgroupChange {
  const dir = join(root, spec.path);
  let action: CgroupChange['action'] = 'unchanged';
  try {
    let classid: number;
    try {
      classid = readClassid(dir);
    } catch (err) {
      if (!isMissing(err) || existsSync(dir)) throw err;
      makeCgroupDirs(dir);
      action = 'created';
      classid = readClassid(dir);
    }
    if (classid !== spec.classid) {
      // Opened from the verified cgroup directory, never created, no symlink followed.
      addon.cgroupWriteFile(dir, 'net_cls.classid', `${spec.classid}\n`);
      if (action === 'unchanged') action = 'updated';
    }
    // The recipe's `chown md: tasks`: the owner may move its own processes in, nothing more.
    if (
      spec.owner !== undefined &&
      handToOwner(
        spec.profile,
        spec.owner,
        ['tasks', 'cgroup.procs'].map((f) => join(dir, f)),
      )
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

/** PIDs in a cgroup (its cgroup.procs). Empty when the cgroup does not exist (or is removed while read). */
export function cgroupPids(dir: string): number[] {
  let text: string;
  try {
    text = addon.cgroupReadFile(dir, 'cgroup.procs');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENODEV') return [];
    throw err;
  }
  return text.split('\n').filter(Boolean).map(Number);
}

/** Removes a profile cgroup if it has no members; a cgroup with members is kept (removing it would fail with EBUSY and orphan nothing). */
export function removeProfileCgroup(root: string, profile: string, path: string): CgroupChange {
  const dir = join(root, path);
  if (!existsSync(dir)) return { profile, path: dir, action: 'unchanged', detail: 'absent' };
  const members = cgroupPids(dir).length;
  if (members > 0)
    return { profile, path: dir, action: 'kept', detail: `${members} member process(es) still inside` };
  rmdirSync(dir);
  return { profile, path: dir, action: 'removed' };
}

/** Removes the parent directory when netcg's profiles were the only thing in it. */
export function removeParentIfEmpty(root: string, parentPath: string): boolean {
  const dir = join(root, parentPath);
  if (!existsSync(dir)) return false;
  const children = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  if (children.length > 0 || cgroupPids(dir).length > 0) return false;
  rmdirSync(dir);
  return true;
}

/** Profile cgroups that exist under the parent (for removing those the config no longer names). */
export function listProfileCgroups(root: string, parentPath: string): string[] {
  const dir = join(root, parentPath);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
}
