// Who is in a profile: the recipe's `systemd-cgls /sys/fs/cgroup/net_cls/` look.
import { readFileSync } from 'node:fs';

import { cgroupPids } from './netcls.js';
import { userName } from './users.js';

export interface Member {
  pid: number;
  uid: number;
  user: string;
  /** The command line (argv joined by spaces), or [comm] for kernel threads / zombies. */
  command: string;
}

function describe(pid: number): Member | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    return { pid, uid, user: userName(uid), command: argv.length > 0 ? argv.join(' ') : `[${comm}]` };
  } catch {
    return undefined; // exited between listing and reading
  }
}

export function members(cgroupDir: string): Member[] {
  return cgroupPids(cgroupDir)
    .map(describe)
    .filter((m): m is Member => m !== undefined);
}
