// Bench cleanup for the profile cgroups netcg creates under the net_cls and the
// cgroup2 hierarchies.
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

/** Mount points of cgroup2 hierarchies, from /proc/self/mountinfo. */
export function cgroup2Mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.split(' - ')[1]?.split(' ')[0] === 'cgroup2')
    .map((line) => line.split(' ')[4] ?? '')
    .filter(Boolean);
}

/** Every cgroup directory below `dir`, deepest first, then `dir` itself (the order rmdir needs). */
function depthFirst(dir: string): string[] {
  const children = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  return [...children.flatMap((d) => depthFirst(join(dir, d.name))), dir];
}

/** Where a profile's cgroup is (or would be), or undefined when net_cls is not mounted. */
export function profileCgroupDir(cgroupParent: string, profile: string): string | undefined {
  const mount = netClsMounts()[0];
  return mount && join(mount, cgroupParent, profile);
}

/**
 * Removes <net_cls or cgroup2>/<cgroupParent> and every cgroup inside it, first moving
 * any leftover tasks to the hierarchy's root (rmdir fails on a populated cgroup).
 * Never throws; returns what could not be removed (empty when all is clean).
 */
export function removeCgroupParent(cgroupParent: string): string[] {
  const problems: string[] = [];
  // v1 moves tasks (threads) through `tasks`; cgroup2 moves processes through cgroup.procs.
  const hierarchies = [
    ...netClsMounts().map((m) => [m, 'tasks'] as const),
    ...cgroup2Mounts().map((m) => [m, 'cgroup.procs'] as const),
  ];
  for (const [mount, file] of hierarchies) {
    const parent = join(mount, cgroupParent);
    if (!existsSync(parent)) continue;
    for (const dir of depthFirst(parent)) {
      try {
        for (const pid of readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(join(mount, file), pid);
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
