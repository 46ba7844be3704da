// `netcg run`: the recipe's wrapper (`echo $$ > tasks; exec "$@"`). The process
// joins the profile's cgroup first and then replaces itself with the program, so
// the program's very first socket is already tagged.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from './config/index.js';
import { NetcgError } from './errors.js';
import { findNetCls } from './cgroups/netcls.js';
import { addon } from './native/index.js';

/** The profile's cgroup directory, or a NetcgError saying why there is none. */
export function profileCgroupDir(config: Config, profile: string): string {
  if (!Object.hasOwn(config.profiles, profile)) {
    const known = Object.keys(config.profiles).join(', ') || '(none)';
    throw new NetcgError('ENOPROFILE', `no profile named '${profile}' in the config (profiles: ${known})`);
  }
  const root = findNetCls();
  const dir = root ? join(root, config.cgroupParent, profile) : undefined;
  if (!dir || !existsSync(dir)) {
    throw new NetcgError(
      'ENOCGROUP',
      `the cgroup of profile '${profile}' does not exist${dir ? ` (${dir})` : ' (no net_cls hierarchy is mounted)'}; run \`netcg apply\` first`,
    );
  }
  return dir;
}

/** Moves this whole process (all its threads: cgroup.procs, not tasks) into the profile, then execs. Returns only by throwing. */
export function joinAndExec(config: Config, profile: string, command: string[]): never {
  const dir = profileCgroupDir(config, profile);
  try {
    writeFileSync(join(dir, 'cgroup.procs'), `${process.pid}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? ' (only root and the profile\'s owner may enroll processes)' : '';
    throw new NetcgError(code ?? 'ECGROUP', `cannot join the cgroup of profile '${profile}'${why}: ${(err as Error).message}`, { cause: err });
  }
  const argv = command.length > 0 ? command : [process.env.SHELL || '/bin/sh'];
  try {
    return addon.exec(argv[0]!, argv);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'EEXEC';
    throw new NetcgError(code, `cannot run '${argv[0]}': ${(err as Error).message}`, { cause: err });
  }
}
