import { Enroller, openSocketCount, profileHierarchy, type EnrollResult } from '../../process/enroll.js';
import { NetcgError } from '../../shared/errors.js';
import { profileCgroupDir } from '../../cgroups/profile.js';
import { err as errColors, out as pc } from '../colors.js';
import { printJson } from '../common.js';
import { configPath, type ConfigCommandOptions } from '../options.js';
import { foreignProcessReason, requireProfileAccess } from '../privilege.js';
import { loadTrustedConfig } from '../trusted-config.js';

/** PID arguments as integers; anything else is a usage error before anything moves. */
export function parsePids(args: string[]): number[] {
  return args.map((a) => {
    if (!/^\d+$/.test(a) || !Number.isSafeInteger(Number(a)) || Number(a) === 0) {
      throw new NetcgError('EUSAGE', `'${a}' is not a process ID (a positive integer)`);
    }
    return Number(a);
  });
}

const reasons: Record<string, string> = {
  ESRCH: 'no such process',
  EACCES: "permission denied (only root and the profile's owner may enroll processes)",
  EPERM: 'operation not permitted',
  EINVAL: 'not a valid process ID',
  ENOTMEMBER: 'not in any profile of this config',
  EEXISTINGCGROUP:
    "in the existing cgroup of a `cgroup:` profile: its membership is the service's, so netcg does not move it out",
};

/** One line per PID, like `kill` would complain; returns the exit status (0 all ok, 1 any failed). */
export function printOutcomes(verb: string, results: EnrollResult[]): number {
  for (const r of results) {
    if (r.ok) process.stdout.write(`${r.pid}: ${pc.green(verb)}\n`);
    else {
      // Refused: when it is another user's process, that is the need to name.
      const refused = r.code === 'EACCES' || r.code === 'EPERM';
      const why = (refused ? foreignProcessReason(r.pid) : undefined) ?? reasons[r.code];
      process.stdout.write(`${r.pid}: ${pc.red('failed')} ${r.code}${why ? ` (${why})` : ''}\n`);
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

export function action(profile: string, pidArgs: string[], opts: ConfigCommandOptions): void {
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
  const pids = parsePids(pidArgs);
  requireProfileAccess(config, profile);
  const cgroup = profileCgroupDir(config, profile);
  const hierarchy = profileHierarchy(config, profile);
  // Looked at before the move: these are the sockets that will stay outside a v2 profile.
  const warnings: Array<{ pid: number; code: 'ESOCKETS'; sockets: number; message: string }> = [];
  if (hierarchy === 'cgroup2') {
    for (const pid of pids) {
      const sockets = openSocketCount(pid);
      if (sockets > 0) {
        warnings.push({
          pid,
          code: 'ESOCKETS',
          sockets,
          message: `process ${pid} already has ${sockets} open socket(s); under cgroup v2 they keep their old cgroup and do not follow profile '${profile}' (only sockets it opens from now on do). Restart it with \`netcg run\` to cover them all.`,
        });
      }
    }
  }
  const enroller = new Enroller(config);
  let results: EnrollResult[];
  try {
    results = enroller.enroll(profile, pids);
  } finally {
    enroller.close();
  }
  const ok = results.every((r) => r.ok);
  process.exitCode = ok ? 0 : 1;
  if (opts.json) {
    printJson({ ok, profile, cgroup, hierarchy, results, warnings });
    return;
  }
  for (const w of warnings)
    process.stderr.write(`${errColors.yellow(errColors.bold('netcg: warning:'))} ${w.message}\n`);
  printOutcomes('enrolled', results);
}
