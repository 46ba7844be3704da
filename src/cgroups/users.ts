// User lookups for `owner:` and for `netcg ps`. /etc/passwd first (no process
// spawned, the common case), then `getent passwd` so NSS users (LDAP, sssd) work.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import type { Config } from '../config/index.js';

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswd(text: string): UserIds[] {
  const users: UserIds[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === undefined) continue;
    users.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) });
  }
  return users;
}

function fromGetent(key: string): UserIds | undefined {
  try {
    const out = execFileSync('getent', ['passwd', key], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parsePasswd(out)[0];
  } catch {
    return undefined;
  }
}

/** Resolves a user name or numeric uid; undefined when no such user exists. */
export function lookupUser(nameOrUid: string): UserIds | undefined {
  let local: UserIds[] = [];
  try {
    local = parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  } catch {
    /* no /etc/passwd: rely on getent */
  }
  const numeric = /^\d+$/.test(nameOrUid) ? Number(nameOrUid) : undefined;
  const hit = local.find((u) => (numeric !== undefined ? u.uid === numeric : u.name === nameOrUid));
  if (hit) return hit;
  const viaNss = fromGetent(nameOrUid);
  if (viaNss) return viaNss;
  // A bare uid with no passwd entry is still a valid owner (containers often have none).
  return numeric !== undefined ? { name: String(numeric), uid: numeric, gid: numeric } : undefined;
}

const nameCache = new Map<number, string>();
/** uid -> user name for display; the number itself when unknown. */
export function userName(uid: number): string {
  const cached = nameCache.get(uid);
  if (cached !== undefined) return cached;
  const name = lookupUser(String(uid))?.name ?? String(uid);
  nameCache.set(uid, name);
  return name;
}

/**
 * The uids of the user names profiles give as `dns.server` or `proxy.server`
 * (numbers and root need no lookup); a name with no user is left out, and compile
 * reports it.
 */
export function serverUids(config: Config): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of Object.values(config.profiles))
    for (const name of [p.dns?.server, p.proxy?.server]) {
      if (name === undefined || /^[0-9]+$/.test(name) || name in out) continue;
      const user = lookupUser(name);
      if (user) out[name] = user.uid;
    }
  return out;
}
