// Where the cgroup hierarchies are mounted, read from /proc/self/mountinfo: never
// hard-coded, because hosts differ (v1 under /sys/fs/cgroup/<ctrl>, hybrid with
// cgroup2 at /sys/fs/cgroup/unified, v2-only at /sys/fs/cgroup) and a mount
// namespace may hide or move them.
import { readFileSync } from 'node:fs';

export interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** v1 controllers named in the super options (net_cls, net_prio, name=systemd, ...). */
  controllers: string[];
  /** Root of the hierarchy visible through this mount (usually '/'). */
  root: string;
}

/** Undo mountinfo's octal escapes (\040 for space, etc.). */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Pure: parses mountinfo text into its cgroup mounts. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const fsType = post[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const superOpts = (post[2] ?? '').split(',');
    mounts.push({
      mountPoint: unescapeOctal(pre[4] ?? ''),
      fsType,
      root: unescapeOctal(pre[3] ?? '/'),
      controllers:
        fsType === 'cgroup'
          ? superOpts.filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent'))
          : [],
    });
  }
  return mounts;
}

export function readCgroupMounts(path = '/proc/self/mountinfo'): CgroupMount[] {
  return parseCgroupMounts(readFileSync(path, 'utf8'));
}

/** The v1 hierarchy that carries the net_cls controller (possibly co-mounted with net_prio). */
export function findNetClsMount(mounts: CgroupMount[]): CgroupMount | undefined {
  return mounts.find((m) => m.fsType === 'cgroup' && m.controllers.includes('net_cls') && m.root === '/');
}

export function findCgroup2Mount(mounts: CgroupMount[]): CgroupMount | undefined {
  return mounts.find((m) => m.fsType === 'cgroup2' && m.root === '/');
}
