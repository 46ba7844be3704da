// Which hierarchy a profile's members are matched in: `match: net_cls` and
// `match: cgroupv2` say it outright; `match: auto` (the default) takes net_cls
// where the kernel has the controller (it keeps the recipe's semantics: moving a
// task re-tags its sockets) and cgroup v2 otherwise. Pure: whether the host has
// net_cls is a host fact (src/cgroups/match.ts reads it).
import type { MatchKind } from '../config/schema.js';

export type MatchHierarchy = 'net_cls' | 'cgroupv2';

/** The hierarchy a profile uses on a host with (or without) net_cls. */
export function resolveMatch(
  profile: { match?: MatchKind; classid?: number; cgroup?: string },
  netClsAvailable: boolean,
): MatchHierarchy {
  // An existing cgroup (`cgroup:`) is matched by its cgroup2 ID (the loader refuses net_cls with it).
  if (profile.cgroup !== undefined) return 'cgroupv2';
  const match = profile.match ?? 'auto';
  if (match !== 'auto') return match;
  return netClsAvailable && profile.classid !== undefined ? 'net_cls' : 'cgroupv2';
}

/** Depth of `<cgroupParent>/<profile>` below the cgroup2 root (level 0): what `socket cgroupv2 level` compares. */
export function profileLevel(cgroupParent: string): number {
  return cgroupParent.split('/').filter(Boolean).length + 1;
}
