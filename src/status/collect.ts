// The reading half of `netcg status`: one diff (netcg's table with its counters,
// ip rules, routes, and the plan), links, and each profile's cgroup. Reads only.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { diff } from '../apply/apply.js';
import type { Backend } from '../backends/types.js';
import { findCgroup2 } from '../cgroups/cgroup2.js';
import { walkCgroupPattern } from '../cgroups/existing.js';
import { members } from '../cgroups/members.js';
import type { Config } from '../config/index.js';
import { locateProfileCgroup } from '../cgroups/profile.js';
import { addon } from '../native/index.js';
import { servedPorts, serverUid } from '../compile/servers.js';
import { serverUids, userName } from '../cgroups/users.js';
import { readListeners } from '../sockets/listeners.js';
import { buildStatus, type ProfileCgroupInfo } from './build.js';
import type { ServerStatus, StatusSnapshot } from './model.js';
import { serverStatuses } from './servers.js';

/** An existing-cgroup profile: the cgroups its pattern matches now, and their processes. */
function existingInfo(pattern: string): ProfileCgroupInfo {
  const root = findCgroup2();
  const found = root ? walkCgroupPattern(root, pattern).matches : [];
  let count = 0;
  for (const c of found) {
    try {
      count += members(join(root!, c.path)).length;
    } catch {
      /* removed since the walk: no members */
    }
  }
  return { match: 'cgroupv2', dir: root ? join(root, pattern) : null, members: count, existing: found };
}

export function profileCgroups(config: Config): Record<string, ProfileCgroupInfo> {
  const out: Record<string, ProfileCgroupInfo> = {};
  for (const name of Object.keys(config.profiles)) {
    const pattern = config.profiles[name]!.cgroup;
    if (pattern !== undefined) {
      out[name] = existingInfo(pattern);
      continue;
    }
    const { match, dir } = locateProfileCgroup(config, name);
    const exists = dir !== undefined && existsSync(dir);
    let id: bigint | undefined;
    if (exists && match === 'cgroupv2') {
      try {
        id = addon.cgroupId(dir);
      } catch {
        /* removed between the check and the read: shown without an ID */
      }
    }
    out[name] = {
      match,
      dir: dir ?? null,
      members: exists ? members(dir).length : 0,
      ...(id !== undefined ? { id } : {}),
    };
  }
  return out;
}

/** Per `dns`/`proxy` redirect port of `config`, who listens there in `netns` now. */
export function collectServers(config: Config, netns: string | undefined): ServerStatus[] {
  const ports = servedPorts(config);
  if (ports.length === 0) return [];
  const listeners = readListeners(netns, ports);
  const users = serverUids(config);
  return serverStatuses({
    ports,
    listeners,
    serverUids: Object.fromEntries(ports.map((p) => [p.server, serverUid(p.server, users) ?? null])),
    userNames: Object.fromEntries(listeners.map((l) => [l.uid, userName(l.uid)])),
  });
}

/** One sample: everything `netcg status` shows, read now. */
export function collectStatus(config: Config, backend: Backend): StatusSnapshot {
  const { plan, current, config: compared } = diff(config, backend);
  return buildStatus({
    config: compared,
    table: current.table,
    plan,
    links: backend.links(),
    routes: current.routes,
    cgroups: profileCgroups(config),
    servers: collectServers(config, backend.netns),
    ...(backend.netns ? { netns: backend.netns } : {}),
    time: Date.now(),
  });
}
