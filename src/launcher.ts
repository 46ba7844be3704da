// `netcg run`: the recipe's wrapper (`echo $$ > tasks; exec "$@"`). The process
// joins the profile's cgroup first and then replaces itself with the program, so
// the program's very first socket is already tagged.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from './config/index.js';
import { NetcgError } from './errors.js';
import { findCgroup2 } from './cgroups/cgroup2.js';
import { netClsAvailable, resolveMatch, type MatchHierarchy } from './cgroups/match.js';
import { findNetCls } from './cgroups/netcls.js';
import { addon } from './native/index.js';

export interface ProfileCgroup {
  /** Which hierarchy the profile uses on this host (`match: auto` resolved as apply does). */
  match: MatchHierarchy;
  /** Where its cgroup is or would be; undefined when that hierarchy is not mounted. */
  dir: string | undefined;
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
  return { match, dir: root ? join(root, config.cgroupParent, profile) : undefined };
}

/** The profile's cgroup directory (v1 net_cls or cgroup2), or a NetcgError saying why there is none. */
export function profileCgroupDir(config: Config, profile: string): string {
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

/** Moves this whole process (all its threads: cgroup.procs, not tasks) into the profile, then execs. Returns only by throwing. */
export function joinAndExec(config: Config, profile: string, command: string[]): never {
  const dir = profileCgroupDir(config, profile);
  const v2 = locateProfileCgroup(config, profile).match === 'cgroupv2';
  try {
    // 'r+' has no O_CREAT: cgroup.procs must exist; never create a 0666 stand-in (writeFileSync's default 'w' would).
    writeFileSync(join(dir, 'cgroup.procs'), `${process.pid}\n`, { flag: 'r+' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? ` (only root and the profile's owner may enroll processes${v2 ? "; under cgroup v2 the owner only from inside the profile's delegated subtree, see README" : ''})`
        : code === 'ENOENT'
          ? ' (the cgroup disappeared)'
          : '';
    throw new NetcgError(
      code ?? 'ECGROUP',
      `cannot join the cgroup of profile '${profile}'${why}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const argv = command.length > 0 ? command : [process.env.SHELL || '/bin/sh'];
  try {
    return addon.exec(argv[0]!, argv);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'EEXEC';
    throw new NetcgError(code, `cannot run '${argv[0]}': ${(err as Error).message}`, { cause: err });
  }
}
