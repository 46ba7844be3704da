// `netcg run`: the recipe's wrapper (`echo $$ > tasks; exec "$@"`). The process
// joins the profile's cgroup first and then replaces itself with the program, so
// the program's very first socket is already tagged.
import type { Config } from '../config/index.js';
import { NetcgError } from '../shared/errors.js';
import { locateProfileCgroup, profileCgroupDir } from '../cgroups/profile.js';
import { addon } from '../native/index.js';

/** Moves this whole process (all its threads: cgroup.procs, not tasks) into the profile, then execs. Returns only by throwing. */
export function joinAndExec(config: Config, profile: string, command: string[]): never {
  const dir = profileCgroupDir(config, profile);
  const v2 = locateProfileCgroup(config, profile).match === 'cgroupv2';
  try {
    // From the verified cgroup directory: never created, no symlink or mount in place of cgroup.procs followed.
    addon.cgroupWriteFile(dir, 'cgroup.procs', `${process.pid}\n`);
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
