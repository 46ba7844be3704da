// Existing-cgroup profiles (`cgroup:`): whether each pattern matches a cgroup now.
// A profile that matches none is waiting (its chains are installed, its map
// elements are not): fine for a service that is stopped, a typo otherwise.
import type { ProfileConfig } from '../config/index.js';
import type { ExistingCgroup } from '../shared/model.js';
import { info, ok, warn, type Finding } from './finding.js';

export function checkExistingCgroups(
  profiles: readonly ProfileConfig[],
  matched: Readonly<Record<string, readonly ExistingCgroup[]>> | undefined,
): Finding[] {
  const users = profiles.filter((p) => p.cgroup !== undefined);
  if (users.length === 0) return [];
  if (!matched)
    return [
      info(
        'existing-cgroup',
        `not checked (no cgroup2 hierarchy or the addon did not load): ${users.map((p) => p.name).join(', ')}`,
      ),
    ];
  return users.map((p) => {
    const found = matched[p.name] ?? [];
    if (found.length === 0)
      return warn(
        'existing-cgroup',
        `profile ${p.name} is waiting: no cgroup matches ${p.cgroup} (its members are matched once one appears, by netcg watch or the next apply)`,
        'start the service or program that owns it, or check the path (systemd-cgls, /proc/PID/cgroup of a process that should match)',
      );
    const list = found.map((c) => `${c.path} (ID ${c.id})`);
    return ok(
      'existing-cgroup',
      `profile ${p.name} matches ${found.length} existing cgroup${found.length === 1 ? '' : 's'} in place: ${list.slice(0, 3).join(', ')}${list.length > 3 ? `, … (${list.length - 3} more)` : ''}`,
    );
  });
}
