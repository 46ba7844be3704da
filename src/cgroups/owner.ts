// Handing a profile cgroup's control files to its `owner`, for both hierarchies:
// net_cls gets the recipe's `chown md: tasks` (tasks, cgroup.procs); cgroup v2 gets
// the kernel's delegation set (the directory, cgroup.procs, cgroup.threads,
// cgroup.subtree_control). Only what differs is changed, so re-applies are no-ops.
import { lchownSync, lstatSync } from 'node:fs';

import { NetcgError } from '../shared/errors.js';
import { lookupUser } from './users.js';

/** Chowns `paths` to `owner`; returns whether anything changed. */
export function handToOwner(profile: string, owner: string, paths: string[]): boolean {
  const user = lookupUser(owner);
  if (!user)
    throw new NetcgError('ENOUSER', `profile ${profile}: owner '${owner}' is not a user on this host`);
  let changed = false;
  for (const p of paths) {
    // l*: a symlink in place of a control file is never followed (its target is not the cgroup's to hand over).
    const st = lstatSync(p);
    if (st.uid !== user.uid || st.gid !== user.gid) {
      lchownSync(p, user.uid, user.gid);
      changed = true;
    }
  }
  return changed;
}
