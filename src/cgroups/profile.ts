// Where a profile's cgroup is: the hierarchy it uses on this host (`match: auto`
// resolved as apply does) and its directory there, whether or not it exists yet.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from '../config/index.js';
import { resolveMatch, type MatchHierarchy } from '../compile/match.js';
import { NetcgError } from '../shared/errors.js';
import { findCgroup2 } from './cgroup2.js';
import { netClsAvailable } from './match.js';
import { findNetCls } from './netcls.js';

export interface ProfileCgroup {
  /** Which hierarchy the profile uses on this host (`match: auto` resolved as apply does). */
  match: MatchHierarchy;
  /** Where its cgroup is or would be; undefined when that hierarchy is not mounted. */
  dir: string | undefined;
  /** An existing-cgroup profile (`cgroup:`): `dir` is its pattern, possibly with wildcards. */
  existing?: true;
}

/** Where a profile's cgroup lives (net_cls or cgroup2), whether or not it exists. */
export function locateProfileCgroup(config: Config, profile: string): ProfileCgroup {
  const p = config.profiles[profile];
  if (!p || !Object.hasOwn(config.profiles, profile)) {
    const known = Object.keys(config.profiles).join(', ') || '(none)';
    throw new NetcgError('ENOPROFILE', `no profile named '${profile}' in the config (profiles: ${known})`);
  }
  const match = resolveMatch(p, netClsAvailable());
  const root = match === 'net_cls' ? findNetCls() : findCgroup2();
  // An existing-cgroup profile: `dir` is its pattern below the cgroup2 root.
  if (p.cgroup !== undefined) return { match, dir: root ? join(root, p.cgroup) : undefined, existing: true };
  return { match, dir: root ? join(root, config.cgroupParent, profile) : undefined };
}

/**
 * Refuses to put processes into (or take them out of) an existing-cgroup profile:
 * its membership is the service's, which systemd (or whoever made the cgroup) owns.
 */
export function refuseExistingCgroup(config: Config, profile: string, verb: string): void {
  const cgroup = config.profiles[profile]?.cgroup;
  if (cgroup === undefined || !Object.hasOwn(config.profiles, profile)) return;
  throw new NetcgError(
    'EEXISTINGCGROUP',
    `profile '${profile}' matches the existing cgroup ${cgroup} in place: its members are whatever runs in that cgroup (the service's or scope's own processes), so netcg cannot ${verb}; start the program in that unit instead (e.g. systemctl start, or systemd-run --unit/--scope), or use a profile without cgroup:`,
  );
}

/** The profile's cgroup directory (v1 net_cls or cgroup2), or a NetcgError saying why there is none. */
export function profileCgroupDir(config: Config, profile: string): string {
  refuseExistingCgroup(config, profile, 'move processes into or out of it');
  const { match, dir } = locateProfileCgroup(config, profile);
  if (!dir || !existsSync(dir)) {
    const hierarchy = match === 'net_cls' ? 'net_cls' : 'cgroup2';
    throw new NetcgError(
      'ENOCGROUP',
      `the cgroup of profile '${profile}' does not exist${dir ? ` (${dir})` : ` (no ${hierarchy} hierarchy is mounted)`}; run \`netcg apply\` first`,
    );
  }
  return dir;
}
