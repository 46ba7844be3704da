// Where many processes are in one cgroup hierarchy, for the origins an Enroller
// remembers before a first enroll. Two ways to the same answer:
//   - per PID: /proc/PID/cgroup, read natively (addon.procCgroupPaths). The
//     kernel formats every hierarchy's path for each read: ~10-20 µs per PID,
//     several times the cost of the move itself;
//   - per cgroup: list the hierarchy's cgroups and read each one's cgroup.procs.
//     Costs per cgroup, not per PID, so it wins when a big batch meets a
//     hierarchy with few cgroups (a net_cls hierarchy usually has a handful).
// The listing is tried first for big batches when the kernel's own count of the
// hierarchy's cgroups says it pays (or, with no count, given up once it has
// visited more cgroups than it could pay for); whatever it cannot place for certain (not
// listed, listed twice because it moved during the walk or because v1 threads
// sit in different cgroups, or a threaded cgroup whose cgroup.procs cannot be
// read) is read per PID. Either way the answer is a snapshot: a process may
// move right after, as with any read of /proc.
import { type Dirent, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { addon } from '../native/index.js';

/** Below this many PIDs the per-PID reads cost less than a walk could save. */
const MIN_PIDS_FOR_LISTING = 32;
/**
 * A cgroup visited (stat + readdir + cgroup.procs from JS) costs about as much as this many per-PID
 * reads (measured here: ~50-100 µs against ~13-18 µs). Without a count of the hierarchy's cgroups the
 * walk gives up at half its break-even point, so it costs at most about half again the per-PID reads.
 */
const CGROUP_COST_IN_READS = 6;

/**
 * How many cgroups the hierarchy mounted at `mountPoint` has, as the kernel counts them: cgroup2's root
 * cgroup.stat (nr_descendants + 1), or for v1 the num_cgroups column of /proc/cgroups for the first of
 * its controllers. undefined when there is no such count (a v1 hierarchy without controllers).
 */
export function cgroupCount(mountPoint: string, key: string): number | undefined {
  try {
    if (key === '') {
      const m = /^nr_descendants (\d+)$/m.exec(readFileSync(join(mountPoint, 'cgroup.stat'), 'latin1'));
      return m ? Number(m[1]) + 1 : undefined;
    }
    const controller = key.split(',')[0];
    for (const line of readFileSync('/proc/cgroups', 'latin1').split('\n')) {
      const [name, , count] = line.split('\t');
      if (name === controller && count !== undefined) return Number(count);
    }
  } catch {
    /* no count: the walk's budget decides */
  }
  return undefined;
}

/** pid -> cgroup directory, or null when the PID was seen in more than one (placed per PID then). */
type Listing = Map<number, string | null>;

/**
 * The members of every cgroup in the hierarchy at `mountPoint`, restricted to `wanted`; undefined when the
 * walk visited more than `maxCgroups` cgroups or met a cgroup.procs it cannot read (threaded cgroups).
 */
export function listMembers(
  mountPoint: string,
  wanted: ReadonlySet<number>,
  maxCgroups: number,
): Listing | undefined {
  const found: Listing = new Map();
  const pending = [mountPoint];
  let visited = 0;
  let hierarchyDev: number | undefined;
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    if (++visited > maxCgroups) return undefined;
    let procs: string;
    let entries: Dirent[];
    try {
      // Something mounted on a cgroup directory (another hierarchy, say) is not this hierarchy:
      // its cgroup.procs would place PIDs here that are not. Every cgroup shares its root's device.
      const dev = statSync(dir).dev;
      hierarchyDev ??= dev;
      if (dev !== hierarchyDev) continue;
      procs = readFileSync(join(dir, 'cgroup.procs'), 'latin1');
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // Removed during the walk (ENOENT; ENODEV once open): it had no members left, since only an
      // empty cgroup can be removed; whoever moved out is either listed elsewhere or read per PID.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV') continue;
      return undefined;
    }
    let start = 0;
    while (start < procs.length) {
      let end = procs.indexOf('\n', start);
      if (end < 0) end = procs.length;
      const pid = Number(procs.slice(start, end));
      start = end + 1;
      if (!wanted.has(pid)) continue;
      found.set(pid, found.has(pid) ? null : dir);
    }
    for (const e of entries) if (e.isDirectory()) pending.push(join(dir, e.name));
  }
  return found;
}

/**
 * For each PID (input order), the cgroup directory it is in within the hierarchy mounted at `mountPoint`
 * (`key`: '' for cgroup2, else the v1 controller list), or undefined when it is gone or not in it.
 */
export function cgroupDirsOf(
  mountPoint: string,
  key: string,
  pids: readonly number[],
  listing: 'auto' | 'never' = 'auto',
): Array<string | undefined> {
  const out = new Array<string | undefined>(pids.length).fill(undefined);
  let listed: Listing | undefined;
  if (listing === 'auto' && pids.length >= MIN_PIDS_FOR_LISTING) {
    const breakEven = Math.floor(pids.length / CGROUP_COST_IN_READS);
    const count = cgroupCount(mountPoint, key);
    if (count === undefined) listed = listMembers(mountPoint, new Set(pids), Math.floor(breakEven / 2));
    else if (count <= breakEven) listed = listMembers(mountPoint, new Set(pids), breakEven);
  }
  const unplaced: number[] = [];
  const unplacedAt: number[] = [];
  for (let i = 0; i < pids.length; i++) {
    const dir = listed?.get(pids[i]!);
    if (dir) out[i] = dir;
    else {
      unplaced.push(pids[i]!);
      unplacedAt.push(i);
    }
  }
  if (unplaced.length > 0) {
    // Out-of-range PIDs become 0 (answered null) instead of wrapping onto another process.
    const paths = addon.procCgroupPaths(
      Int32Array.from(unplaced, (p) => (p >= 1 && p <= 0x7fffffff ? p : 0)),
      key,
    );
    for (let j = 0; j < unplaced.length; j++) {
      const path = paths[j];
      if (path === null || path === undefined) continue;
      out[unplacedAt[j]!] = path === '/' ? mountPoint : join(mountPoint, path);
    }
  }
  return out;
}
