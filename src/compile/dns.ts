// `dns.server`: which user's sockets may answer members' redirected DNS. Pure: the
// uids of user names arrive as HostFacts.users (read from the user database by apply).
import { DEFAULT_DNS_SERVER, type Config, type ProfileConfig } from '../config/index.js';
import { NetcgError } from '../shared/errors.js';
import type { HostFacts } from '../shared/model.js';

/** One redirect port and the uid of the only user whose sockets may answer from it. */
export interface DnsServer {
  readonly port: number;
  readonly uid: number;
}

function uidOf(config: Config, p: ProfileConfig, facts: HostFacts): number {
  const name = p.dns?.server ?? DEFAULT_DNS_SERVER;
  if (/^[0-9]+$/.test(name)) return Number(name);
  if (name === 'root') return 0;
  const uid = facts.users?.[name];
  if (uid === undefined)
    throw new NetcgError(
      'EUNKNOWNUSER',
      `${config.file}: profiles.${p.name}.dns.server: no user "${name}" on this host; name an existing user (the one your resolver runs as) or a uid`,
    );
  return uid;
}

/** Per redirect port (in port order), the server's uid; profiles sharing a port must name the same server. */
export function dnsServersOf(
  config: Config,
  profiles: readonly ProfileConfig[],
  facts: HostFacts,
): DnsServer[] {
  const byPort = new Map<number, { uid: number; profile: string }>();
  for (const p of profiles) {
    if (!p.dns) continue;
    const uid = uidOf(config, p, facts);
    const seen = byPort.get(p.dns.redirect);
    if (seen === undefined) byPort.set(p.dns.redirect, { uid, profile: p.name });
    else if (seen.uid !== uid)
      throw new NetcgError(
        'ECONFLICT',
        `${config.file}: profiles.${p.name}.dns.server: port ${p.dns.redirect} is answered by uid ${seen.uid} for profile "${seen.profile}" but by uid ${uid} here; profiles sharing a redirect port share its server`,
      );
  }
  // By port, so that a profile added anywhere in the config appends its port's rules when its port is the highest.
  return [...byPort].map(([port, { uid }]) => ({ port, uid })).sort((a, b) => a.port - b.port);
}
