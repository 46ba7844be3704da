// Bench cleanup for the profile cgroups netcg creates under the net_cls hierarchy.
// Deliberately independent of netcg's own cgroup code: if that code is broken, the
// bench must still leave nothing behind.
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Mount points of v1 hierarchies carrying net_cls, from /proc/self/mountinfo. */
export function netClsMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => {
      const post = line.split(' - ')[1]?.split(' ');
      return post?.[0] === 'cgroup' && (post[2] ?? '').split(',').includes('net_cls');
    })
    .map((line) => line.split(' ')[4] ?? '')
    .filter(Boolean);
}

/** Where a profile's cgroup is (or would be), or undefined when net_cls is not mounted. */
export function profileCgroupDir(cgroupParent: string, profile: string): string | undefined {
  const mount = netClsMounts()[0];
  return mount && join(mount, cgroupParent, profile);
}

/**
 * Removes <net_cls>/<cgroupParent> and the profile cgroups inside it, first moving
 * any leftover tasks to the hierarchy's root (rmdir fails on a populated cgroup).
 * Never throws; returns what could not be removed (empty when all is clean).
 */
export function removeCgroupParent(cgroupParent: string): string[] {
  const problems: string[] = [];
  for (const mount of netClsMounts()) {
    const parent = join(mount, cgroupParent);
    if (!existsSync(parent)) continue;
    const children = readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory());
    for (const dir of [...children.map((d) => join(parent, d.name)), parent]) {
      try {
        for (const pid of readFileSync(join(dir, 'tasks'), 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(join(mount, 'tasks'), pid);
          } catch {
            /* the task exited meanwhile */
          }
        }
        rmdirSync(dir);
      } catch (err) {
        problems.push(`${dir}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}
