// What a state-changing command needs, checked before it touches anything, so an
// unprivileged user gets one line naming the need instead of a failure halfway
// (a lock file it may not create, a netlink EPERM, a cgroup file it may not open).
// The decisions are pure; the caller's capabilities and uid are read here.
import { readFileSync } from 'node:fs';

import { lookupUser, userName } from '../cgroups/users.js';
import type { Config } from '../config/index.js';
import { NetcgError } from '../shared/errors.js';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;

/** The effective capability set of this process (CapEff in /proc/self/status); 0 when unreadable. */
function effectiveCaps(): bigint {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return hex ? BigInt(`0x${hex}`) : 0n;
  } catch {
    return 0n;
  }
}

/**
 * Why `netcg COMMAND` cannot change the kernel with capabilities `caps`, as one line,
 * or undefined: nf_tables, rtnetlink and net sysctls need CAP_NET_ADMIN; --netns
 * (setns) also needs CAP_SYS_ADMIN.
 */
export function missingPrivilege(command: string, caps: bigint, netns: boolean): string | undefined {
  if ((caps & (1n << CAP_NET_ADMIN)) === 0n)
    return `netcg ${command} changes the kernel's network policy: needs root (CAP_NET_ADMIN)`;
  if (netns && (caps & (1n << CAP_SYS_ADMIN)) === 0n)
    return `netcg ${command} --netns enters another network namespace: needs root (CAP_SYS_ADMIN)`;
  return undefined;
}

/** Throws EPERM with missingPrivilege's line when this process lacks what `command` needs. */
export function requirePrivilege(command: string, netns: string | undefined): void {
  const why = missingPrivilege(command, effectiveCaps(), netns !== undefined);
  if (why) throw new NetcgError('EPERM', why);
}

/**
 * Why `uid` may not move processes into `profile`, as one line, or undefined (root,
 * or the profile's owner: the kernel has the last word). `ownerUid` is the uid of
 * the profile's `owner` (undefined: none, or no such user).
 */
export function profileRefusal(
  profile: string,
  owner: string | undefined,
  ownerUid: number | undefined,
  uid: number,
): string | undefined {
  if (uid === 0) return undefined;
  if (owner === undefined) return `profile ${profile} has no owner: moving processes into it needs root`;
  if (ownerUid !== uid)
    return `profile ${profile} belongs to ${owner}: only ${owner} and root may move processes into it`;
  return undefined;
}

/** Throws EACCES with profileRefusal's line when this process may not move processes into `profile`. */
export function requireProfileAccess(config: Config, profile: string): void {
  const p = config.profiles[profile];
  if (!p) return; // the command's own lookup reports an unknown profile
  const owner = p.owner;
  const why = profileRefusal(
    profile,
    owner,
    owner === undefined ? undefined : lookupUser(owner)?.uid,
    process.geteuid!(),
  );
  if (why) throw new NetcgError('EACCES', why);
}

/** The real uid of a process (the first Uid field of /proc/PID/status), or undefined when it is gone. */
function processUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a move of `pid` was refused, when it is another user's process: one line naming the need. */
export function foreignProcessReason(pid: number): string | undefined {
  const uid = processUid(pid);
  if (uid === undefined || uid === process.geteuid!()) return undefined;
  return `PID ${pid} belongs to ${userName(uid)} (uid ${uid}): moving another user's process needs root`;
}
