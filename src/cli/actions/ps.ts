import { join } from 'node:path';

import { findCgroup2 } from '../../cgroups/cgroup2.js';
import { walkCgroupPattern } from '../../cgroups/existing.js';
import { members, type Member } from '../../cgroups/members.js';
import { NetcgError } from '../../shared/errors.js';
import { locateProfileCgroup } from '../../cgroups/profile.js';
import { out as pc } from '../colors.js';
import { printJson } from '../common.js';
import { configPath, type ConfigCommandOptions } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';

interface ProfileMembers {
  profile: string;
  match: 'net_cls' | 'cgroupv2';
  classid: number | null;
  cgroup: string | null;
  members: Member[];
}

function existingMembers(pattern: string): Member[] {
  const root = findCgroup2();
  if (!root) return [];
  return walkCgroupPattern(root, pattern).matches.flatMap((c) => {
    try {
      return members(join(root, c.path));
    } catch {
      return []; // removed since the walk
    }
  });
}

export function action(profile: string | undefined, opts: ConfigCommandOptions): void {
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
  const names = profile === undefined ? Object.keys(config.profiles) : [profile];
  if (profile !== undefined && !Object.hasOwn(config.profiles, profile)) {
    throw new NetcgError(
      'ENOPROFILE',
      `no profile named '${profile}' in the config (profiles: ${Object.keys(config.profiles).join(', ')})`,
    );
  }
  const rows: ProfileMembers[] = names.map((name) => {
    const { match, dir, existing } = locateProfileCgroup(config, name);
    const classid = match === 'net_cls' ? (config.profiles[name]!.classid ?? null) : null;
    // An existing cgroup's pattern: the members of every cgroup it matches now.
    const list = !dir ? [] : existing ? existingMembers(config.profiles[name]!.cgroup!) : members(dir);
    return { profile: name, match, classid, cgroup: dir ?? null, members: list };
  });
  if (opts.json) {
    printJson({ profiles: rows });
    return;
  }
  for (const r of rows) {
    const how = r.match === 'net_cls' ? `classid ${r.classid}` : 'cgroup v2';
    process.stdout.write(
      `${pc.bold(r.profile)} ${pc.dim(`${how} · ${r.cgroup ?? 'no cgroup'}`)} ${r.members.length} member(s)\n`,
    );
    for (const m of r.members)
      process.stdout.write(`  ${String(m.pid).padStart(7)}  ${m.user.padEnd(10)} ${m.command}\n`);
  }
}
