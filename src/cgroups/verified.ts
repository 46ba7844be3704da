// The profile cgroups a long-lived Reconciler has already verified, so a re-apply
// checks only the new or changed ones instead of 10,000 directories (a stat and a
// read each).
//
// Why that is safe: every profile cgroup lives in one parent directory per
// hierarchy (<root>/<cgroupParent>), and the kernel's cgroup filesystem (kernfs)
// stamps that directory's mtime/ctime whenever a child is created or removed, and
// counts its subdirectories in its link count. The stamp is only kept once the
// directory has its own inode attributes, which a setattr creates: so after a
// verification the parent is "armed" with a utimes that sets its mtime one second
// into the past. Kernels before multigrain timestamps (6.13) stamp with a coarse
// clock (one tick, up to 10 ms), so re-arming with the parent's own mtime would let
// an rmdir+mkdir in the same tick as netcg's last change leave the stamp as it was;
// a time in the past is one that no later change can write. While (dev, inode, link count, mtime, ctime) of the parent stay
// the same, no profile cgroup was removed, re-created (a new cgroup2 ID) or added
// under it, and the remembered verification still holds. Anything else — another
// stamp, a missing parent, a spec that differs from the one verified (classid,
// owner, hierarchy), a failed apply, Reconciler.invalidate() — means the full
// check, exactly as the one-shot apply does.
//
// What a stamp cannot see: edits inside an existing profile cgroup (its
// net_cls.classid rewritten by hand, its files chowned), and a cgroup re-created
// by someone else while an apply runs (between its check and the arming). The
// one-shot apply, the Reconciler's full checks (invalidate()) and `netcg watch`
// (which compares cgroup IDs on every change of the parent) repair those.
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

import type { CgroupSpec } from '../shared/model.js';

interface ParentStamp {
  dev: bigint;
  ino: bigint;
  nlink: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

function stampOf(dir: string): ParentStamp | undefined {
  try {
    const st = statSync(dir, { bigint: true });
    return { dev: st.dev, ino: st.ino, nlink: st.nlink, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
  } catch {
    return undefined;
  }
}

function sameStamp(a: ParentStamp, b: ParentStamp): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.nlink === b.nlink &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

/** Whether `spec` asks exactly what `verified` was checked for: anything else means check it again. */
export function sameSpec(verified: CgroupSpec, spec: CgroupSpec): boolean {
  return (
    verified === spec ||
    (verified.hierarchy === spec.hierarchy &&
      verified.path === spec.path &&
      verified.classid === spec.classid &&
      verified.owner === spec.owner)
  );
}

/** One verified profile cgroup. */
export interface VerifiedCgroup {
  /** What it was verified for (a private copy). */
  spec: CgroupSpec;
  /** The cgroup directory (as apply reports it). */
  dir: string;
  /** Its cgroup2 ID (cgroup v2 profiles). */
  id?: bigint;
}

/** What was verified under one parent directory, and the parent's stamp right after. */
export interface VerifiedParent {
  stamp: ParentStamp;
  cgroups: ReadonlyMap<string, VerifiedCgroup>;
  /** The parent's subdirectories as left (profile cgroups, and stale ones kept for their members). */
  children: ReadonlySet<string>;
}

export class CgroupMemory {
  private readonly parents = new Map<string, VerifiedParent>();

  /** What was verified under root/parentPath, when the parent provably did not change since; else undefined. */
  trusted(root: string, parentPath: string): VerifiedParent | undefined {
    const dir = join(root, parentPath);
    const known = this.parents.get(dir);
    if (!known) return undefined;
    const now = stampOf(dir);
    if (now && sameStamp(now, known.stamp)) return known;
    this.parents.delete(dir);
    return undefined;
  }

  /**
   * Remembers a verification that just completed under root/parentPath. The parent
   * is armed first (see above), then stamped; a parent that is gone is forgotten.
   */
  record(
    root: string,
    parentPath: string,
    cgroups: ReadonlyMap<string, VerifiedCgroup>,
    children: ReadonlySet<string>,
  ): void {
    const dir = join(root, parentPath);
    try {
      const st = statSync(dir);
      utimesSync(dir, st.atime, (Date.now() - 1000) / 1000);
    } catch {
      this.parents.delete(dir);
      return;
    }
    const stamp = stampOf(dir);
    // The link count is 2 + subdirectories: another count means someone added or
    // removed a cgroup while apply ran, and what it verified may be stale already.
    if (stamp && stamp.nlink === 2n + BigInt(children.size))
      this.parents.set(dir, { stamp, cgroups, children });
    else this.parents.delete(dir);
  }

  /**
   * The cgroup2 IDs of `specs` (v2 profile cgroups under root/parentPath) that the
   * memory still vouches for; the others are left for the caller to read.
   */
  knownIds(root: string, parentPath: string, specs: readonly CgroupSpec[]): Map<string, bigint> {
    const ids = new Map<string, bigint>();
    const t = this.trusted(root, parentPath);
    if (!t) return ids;
    for (const spec of specs) {
      const v = t.cgroups.get(spec.profile);
      if (v?.id !== undefined && sameSpec(v.spec, spec)) ids.set(spec.profile, v.id);
    }
    return ids;
  }

  forget(): void {
    this.parents.clear();
  }
}
