// Enrollment at kernel speed: move running processes into a profile's cgroup
// without spawning anything. The recipe's `echo PID > tasks` costs a fork and an
// exec per PID; here each profile cgroup's cgroup.procs stays open in an
// addon.CgroupProcs and every PID is one write(2) on it, with its own outcome,
// so one dead or foreign PID never stops the others. A batch crosses into the
// addon as an Int32Array and comes back as one of errnos (writePids); the
// origins of first-time PIDs come from cgroup listings or one native pass over
// /proc (enroll-origins.ts). Per PID, JS only builds the outcome object.
//
// Kernel semantics worth knowing (README, "Enrolling running processes"):
// under net_cls (v1) moving a task re-tags the sockets it already has; under
// cgroup v2 a socket keeps the cgroup it was created in, so `socket cgroupv2`
// does not match sockets opened before the move. openSocketCount() lets callers
// warn about that.
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import type { Config } from '../config/index.js';
import { NetcgError } from '../shared/errors.js';
import { cgroupDirsOf } from './enroll-origins.js';
import { profileCgroupDir } from '../cgroups/profile.js';
import { cgroupPathParts, cgroupPathWithin } from '../config/cgroup-path.js';
import { readCgroupMounts, type CgroupMount } from '../cgroups/mountinfo.js';
import { addon, type CgroupProcs } from '../native/index.js';

export type EnrollResult =
  | { pid: number; ok: true }
  | { pid: number; ok: false; code: string; errno?: number };

/** A cgroup hierarchy netcg can move PIDs in: its mount, and how /proc/PID/cgroup names it. */
interface Hierarchy {
  mount: CgroupMount;
  /** cgroup2, or the sorted v1 controller list ("net_cls,net_prio") as /proc/PID/cgroup prints it. */
  key: string;
}

function hierarchyKey(m: CgroupMount): string {
  return m.fsType === 'cgroup2' ? '' : [...m.controllers].sort().join(',');
}

/** The hierarchy whose mount contains `dir` (longest mount point wins). */
function hierarchyOfDir(dir: string, mounts: CgroupMount[]): Hierarchy | undefined {
  let best: CgroupMount | undefined;
  for (const m of mounts) {
    if (m.root !== '/') continue;
    if (
      (dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`)) &&
      (!best || m.mountPoint.length > best.mountPoint.length)
    )
      best = m;
  }
  return best && { mount: best, key: hierarchyKey(best) };
}

/**
 * Which kind of hierarchy a profile's cgroup lives in: 'cgroup2' (sockets keep the cgroup they were
 * created in) or 'cgroup' (v1 net_cls: moving re-tags open sockets). Throws like profileCgroupDir.
 */
export function profileHierarchy(config: Config, profile: string): 'cgroup' | 'cgroup2' {
  const dir = profileCgroupDir(config, profile);
  const h = hierarchyOfDir(dir, readCgroupMounts());
  if (!h) throw new NetcgError('ECGROUP', `${dir} is not inside a mounted cgroup hierarchy`);
  return h.mount.fsType;
}

// One buffer for every /proc/PID/cgroup read: the file is a few hundred bytes,
// and a read per PID is the whole cost of remembering where a process was.
const procBuf = Buffer.allocUnsafe(16384);

/** /proc/PID/cgroup as text, or undefined when the process is gone. */
function readProcCgroup(pid: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/cgroup`, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, procBuf, 0, procBuf.length, null);
    return procBuf.toString('latin1', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The path of `key`'s hierarchy in /proc/PID/cgroup text ("0::/x" for cgroup2, "N:net_cls:/x" for v1). */
function pathIn(procText: string, key: string): string | undefined {
  for (const line of procText.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const controllers = line.slice(a + 1, b);
    const matches =
      key === ''
        ? line.slice(0, a) === '0' && controllers === ''
        : controllers.split(',').sort().join(',') === key;
    if (matches) return line.slice(b + 1);
  }
  return undefined;
}

/**
 * How many sockets the process has open now (socket:[…] links in /proc/PID/fd); 0 when it is gone
 * or its fds cannot be read. Under cgroup v2 these keep their old cgroup after an enroll.
 */
export function openSocketCount(pid: number): number {
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return 0;
  }
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(join(fdDir, fd)).startsWith('socket:[')) sockets++;
    } catch {
      /* closed meanwhile */
    }
  }
  return sockets;
}

function checkPids(pids: readonly number[]): void {
  if (!Array.isArray(pids)) throw new NetcgError('EINVAL', 'pids must be an array of process IDs');
  for (let i = 0; i < pids.length; i++) {
    if (!Number.isSafeInteger(pids[i]))
      throw new NetcgError('EINVAL', `pids[${i}] is not an integer process ID: ${String(pids[i])}`);
  }
}

const MAX_PID = 0x7fffffff;

/**
 * The PIDs as the addon takes them. A PID outside 1..2^31-1 becomes 0, which the addon reports
 * as EINVAL without writing (an Int32Array would otherwise wrap it onto some other process).
 */
function pidBatch(pids: readonly number[]): Int32Array {
  const batch = new Int32Array(pids.length);
  for (let i = 0; i < pids.length; i++) {
    const pid = pids[i]!;
    batch[i] = pid >= 1 && pid <= MAX_PID ? pid : 0;
  }
  return batch;
}

/** errno -> name ("ESRCH"), as the addon names errors (glibc's strerrorname_np) where two names share a number. */
const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno))
  if (!errnoNames.has(num)) errnoNames.set(num, name);
errnoNames.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP'); // Node lists ENOTSUP first; EAGAIN already precedes EWOULDBLOCK
const ESRCH = constants.errno.ESRCH;

/** Outcomes in input order from the addon's errnos (0 = moved). */
function outcomesOf(pids: readonly number[], errnos: Int32Array): EnrollResult[] {
  const out = new Array<EnrollResult>(pids.length);
  for (let i = 0; i < pids.length; i++) {
    const errno = errnos[i]!;
    out[i] =
      errno === 0
        ? { pid: pids[i]!, ok: true }
        : { pid: pids[i]!, ok: false, code: errnoNames.get(errno) ?? `E${errno}`, errno };
  }
  return out;
}

/**
 * Moves processes into and out of a config's profiles. Keeps every cgroup it writes to open
 * across calls (one write(2) per PID after the first call), and remembers, per PID and
 * hierarchy, the cgroup each process was in when it first enrolled it, so leave() can put it
 * back. Not thread-safe; close() when done.
 */
export class Enroller {
  readonly #config: Config;
  readonly #procs = new Map<string, CgroupProcs>();
  /** pid -> (hierarchy mount point -> cgroup directory netcg found the process in). */
  readonly #origins = new Map<number, Map<string, string>>();
  /** Profile cgroup directories this Enroller has moved PIDs into. */
  readonly #profileDirs = new Set<string>();
  #mounts: CgroupMount[] | undefined;
  #closed = false;

  constructor(config: Config) {
    this.#config = config;
  }

  /**
   * Moves `pids` (whole processes: cgroup.procs) into the profile's cgroup. Outcomes come back in
   * input order: `{pid, ok: true}` or `{pid, ok: false, code}` (ESRCH: exited; EACCES/EPERM: not
   * allowed; EINVAL: pid <= 0). Throws only when the profile itself is unusable (ENOPROFILE,
   * ENOCGROUP) or `pids` is not a list of integers.
   */
  enroll(profile: string, pids: readonly number[]): EnrollResult[] {
    this.#open();
    checkPids(pids);
    return this.enrollCgroup(profileCgroupDir(this.#config, profile), pids);
  }

  /** enroll() into any cgroup directory (v1 or cgroup2), e.g. one a program manages itself. */
  enrollCgroup(dir: string, pids: readonly number[]): EnrollResult[] {
    this.#open();
    checkPids(pids);
    const hierarchy = this.#hierarchyOf(dir);
    this.#profileDirs.add(dir);
    // Remember where each process is before moving it. A PID already remembered is moving
    // between profiles: its origin stays the place netcg first found it (and costs no read).
    const mountPoint = hierarchy.mount.mountPoint;
    const batch = pidBatch(pids);
    const unknown: number[] = [];
    for (const pid of batch) if (pid > 0 && !this.#origins.get(pid)?.has(mountPoint)) unknown.push(pid);
    const fresh = new Set<number>();
    if (unknown.length > 0) {
      const dirs = cgroupDirsOf(mountPoint, hierarchy.key, unknown);
      for (let i = 0; i < unknown.length; i++) {
        const origin = dirs[i];
        if (origin === undefined) continue; // gone: the write below reports ESRCH
        const pid = unknown[i]!;
        if (this.#profileDirs.has(origin)) continue; // already in a profile by someone else's hand: no better origin known
        let byMount = this.#origins.get(pid);
        if (!byMount) this.#origins.set(pid, (byMount = new Map()));
        byMount.set(mountPoint, origin);
        fresh.add(pid);
      }
    }
    const errnos = this.#procsFor(dir).writePids(batch);
    const outcomes = outcomesOf(pids, errnos);
    for (let i = 0; i < errnos.length; i++) {
      if (errnos[i] === 0) continue;
      // Gone: forget it (the PID may be reused). Refused: it never left its origin.
      const pid = pids[i]!;
      if (errnos[i] === ESRCH) this.#origins.delete(pid);
      else if (fresh.has(pid)) this.#origins.get(pid)?.delete(mountPoint);
    }
    return outcomes;
  }

  /**
   * Moves `pids` back to where this Enroller found them, per hierarchy. A PID it never enrolled
   * (or whose original cgroup is gone) goes to the root of each hierarchy in which it is in one of
   * the config's profiles; a PID in no profile is reported as `ENOTMEMBER`.
   */
  leave(pids: readonly number[]): EnrollResult[] {
    this.#open();
    checkPids(pids);
    // Group by destination so each cgroup gets one batched native call.
    const byDest = new Map<string, number[]>();
    const results = new Map<number, EnrollResult>();
    const send = (dest: string, pid: number) => {
      let list = byDest.get(dest);
      if (!list) byDest.set(dest, (list = []));
      list.push(pid);
    };
    for (const pid of pids) {
      if (pid <= 0) {
        results.set(pid, { pid, ok: false, code: 'EINVAL' });
        continue;
      }
      const origins = this.#origins.get(pid) ?? this.#profileHierarchiesOf(pid);
      if (origins === undefined) {
        results.set(pid, { pid, ok: false, code: 'ESRCH' });
      } else if (origins.size === 0) {
        // In an existing-cgroup profile's cgroup: that membership is the service's, not netcg's to end.
        const existing = this.#existingProfileOf(pid);
        results.set(pid, { pid, ok: false, code: existing ? 'EEXISTINGCGROUP' : 'ENOTMEMBER' });
      } else {
        for (const dest of origins.values()) send(dest, pid);
      }
    }
    for (const [dest, list] of byDest) {
      let procs: CgroupProcs;
      try {
        procs = this.#procsFor(dest);
      } catch (err) {
        // The original cgroup was removed meanwhile: the hierarchy's root is the fallback.
        if ((err as { code?: string }).code !== 'ENOENT') throw err;
        procs = this.#procsFor(this.#hierarchyOf(dest).mount.mountPoint);
      }
      const outcomes = outcomesOf(list, procs.writePids(pidBatch(list)));
      for (const o of outcomes) {
        const prev = results.get(o.pid);
        if (!prev || prev.ok) results.set(o.pid, o); // a failure in any hierarchy is the PID's outcome
      }
    }
    for (const pid of pids) this.#origins.delete(pid);
    return pids.map((pid) => results.get(pid) ?? { pid, ok: false, code: 'EINVAL' });
  }

  /** Closes every kept cgroup.procs fd. Idempotent; the Enroller is unusable afterwards. */
  close(): void {
    this.#closed = true;
    for (const p of this.#procs.values()) p.close();
    this.#procs.clear();
  }

  #open(): void {
    if (this.#closed) throw new NetcgError('EBADF', 'this Enroller is closed');
  }

  #procsFor(dir: string): CgroupProcs {
    let procs = this.#procs.get(dir);
    if (!procs) this.#procs.set(dir, (procs = new addon.CgroupProcs(dir)));
    return procs;
  }

  #hierarchyOf(dir: string): Hierarchy {
    let h = hierarchyOfDir(dir, (this.#mounts ??= readCgroupMounts()));
    if (!h) h = hierarchyOfDir(dir, (this.#mounts = readCgroupMounts())); // mounted since
    if (!h) throw new NetcgError('ECGROUP', `${dir} is not inside a mounted cgroup hierarchy`);
    return h;
  }

  /** The existing-cgroup profile (`cgroup:`) whose cgroup the process is in (or below), if any. */
  #existingProfileOf(pid: number): string | undefined {
    const path = pathIn(readProcCgroup(pid) ?? '', '');
    if (path === undefined) return undefined;
    const parts = cgroupPathParts(path);
    for (const p of Object.values(this.#config.profiles))
      if (p.cgroup !== undefined && cgroupPathWithin(cgroupPathParts(p.cgroup), parts)) return p.name;
    return undefined;
  }

  /**
   * For a PID this Enroller did not enroll: hierarchy root per hierarchy in which the process sits
   * in one of the config's profile cgroups (empty: in none). undefined when the process is gone.
   */
  #profileHierarchiesOf(pid: number): Map<string, string> | undefined {
    const text = readProcCgroup(pid);
    if (text === undefined) return undefined;
    const dests = new Map<string, string>();
    for (const profile of Object.keys(this.#config.profiles)) {
      let dir: string;
      try {
        dir = profileCgroupDir(this.#config, profile);
      } catch {
        continue; // no cgroup for this profile: the process cannot be in it
      }
      const h = this.#hierarchyOf(dir);
      const path = pathIn(text, h.key);
      if (path !== undefined && join(h.mount.mountPoint, path) === dir)
        dests.set(h.mount.mountPoint, h.mount.mountPoint);
    }
    return dests;
  }
}
