// Profile cgroup directories netcg creates get mode 0755 whatever the umask: a
// umask of 077 would make cgroupParent 0700 and shut a profile's owner out of its
// own delegated cgroup (the owner needs to pass through the parent).
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export const CGROUP_DIR_MODE = 0o755;

/** mkdir -p `dir`, each directory it creates 0755; false when `dir` already existed. */
export function makeCgroupDirs(dir: string): boolean {
  const first = mkdirSync(dir, { recursive: true, mode: CGROUP_DIR_MODE });
  if (first === undefined) return false;
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, CGROUP_DIR_MODE);
    if (d === first || d === dirname(d)) break;
  }
  return true;
}
