// Which hierarchy a profile's members are matched in: `match: net_cls` and
// `match: cgroupv2` say it outright; `match: auto` (the default) takes net_cls
// where the kernel has the controller (it keeps the recipe's semantics: moving a
// task re-tags its sockets) and cgroup v2 otherwise.
import { readFileSync } from 'node:fs';

import type { MatchKind } from '../config/schema.js';

export type MatchHierarchy = 'net_cls' | 'cgroupv2';

/** Pure: the hierarchy a profile uses on a host with (or without) net_cls. */
export function resolveMatch(
  profile: { match?: MatchKind; classid?: number },
  netClsAvailable: boolean,
): MatchHierarchy {
  const match = profile.match ?? 'auto';
  if (match !== 'auto') return match;
  return netClsAvailable && profile.classid !== undefined ? 'net_cls' : 'cgroupv2';
}

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

/** Depth of `<cgroupParent>/<profile>` below the cgroup2 root (level 0): what `socket cgroupv2 level` compares. */
export function profileLevel(cgroupParent: string): number {
  return cgroupParent.split('/').filter(Boolean).length + 1;
}
