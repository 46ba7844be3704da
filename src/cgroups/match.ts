// Whether the host has the net_cls controller: the host fact that `match: auto`
// depends on (src/compile/match.ts resolves it).
import { readFileSync } from 'node:fs';

/** Pure: whether /proc/cgroups text lists net_cls as enabled (it may still need mounting). */
export function parseNetClsEnabled(procCgroups: string): boolean {
  return procCgroups.split('\n').some((line) => {
    const [name, , , enabled] = line.trim().split(/\s+/);
    return name === 'net_cls' && enabled === '1';
  });
}

/** Whether this kernel has the net_cls controller (compiled in and not disabled with cgroup_disable=). */
export function netClsAvailable(path = '/proc/cgroups'): boolean {
  try {
    return parseNetClsEnabled(readFileSync(path, 'utf8'));
  } catch {
    return false; // no /proc/cgroups: no v1 controllers at all
  }
}
