// `dns.server` and `proxy.server`: which user's sockets may answer members at a
// redirect port. Pure: the uids of user names arrive as HostFacts.users (read from
// the user database by apply).
import { DEFAULT_DNS_SERVER, type Config, type ProfileConfig } from '../config/index.js';
import { NetcgError } from '../shared/errors.js';
import type { HostFacts } from '../shared/model.js';

/** One redirect port and the uid of the only user whose sockets may answer from it. */
export interface PortServer {
  readonly port: number;
  readonly uid: number;
}

/** Which redirect: `dns` (UDP and TCP, `dns.redirect`) or `proxy` (TCP, `proxy.tcp`). */
export type ServedKind = 'dns' | 'proxy';

/** The port and the server (as written; absent: root) of `p`'s `kind` redirect, if it has one. */
export function servedPort(p: ProfileConfig, kind: ServedKind): { port: number; server: string } | undefined {
  if (kind === 'dns') return p.dns && { port: p.dns.redirect, server: p.dns.server ?? DEFAULT_DNS_SERVER };
  return p.proxy && { port: p.proxy.tcp, server: p.proxy.server ?? DEFAULT_DNS_SERVER };
}

/** The uid a `server` value names: digits as they are, root, else the user database's answer in `users` (HostFacts.users). */
export function serverUid(name: string, users: HostFacts['users']): number | undefined {
  if (/^[0-9]+$/.test(name)) return Number(name);
  if (name === 'root') return 0;
  return users?.[name];
}

function uidOf(config: Config, p: ProfileConfig, kind: ServedKind, facts: HostFacts): number {
  const name = servedPort(p, kind)!.server;
  const uid = serverUid(name, facts.users);
  if (uid === undefined)
    throw new NetcgError(
      'EUNKNOWNUSER',
      `${config.file}: profiles.${p.name}.${kind}.server: no user "${name}" on this host; name an existing user (the one your ${kind === 'dns' ? 'resolver' : 'proxy'} runs as) or a uid`,
    );
  return uid;
}

interface Claim {
  uid: number;
  profile: string;
  kind: ServedKind;
}

function conflict(
  config: Config,
  p: ProfileConfig,
  kind: ServedKind,
  port: number,
  seen: Claim,
  uid: number,
) {
  return new NetcgError(
    'ECONFLICT',
    `${config.file}: profiles.${p.name}.${kind}.server: port ${port} is answered by uid ${seen.uid} for profile "${seen.profile}" (${seen.kind}) but by uid ${uid} here; redirects sharing a port share its server`,
  );
}

/** Per kind, its redirect ports (in port order) and each one's server uid. */
export type PortServers = Readonly<Record<ServedKind, readonly PortServer[]>>;

/**
 * Each redirect port's server uid, per kind. Profiles sharing a port must name the
 * same server, also across kinds (a `dns` and a `proxy` redirect to one port both
 * check that port's TCP answers: two uids would refuse everyone).
 */
export function portServersOf(
  config: Config,
  profiles: readonly ProfileConfig[],
  facts: HostFacts,
): PortServers {
  const byPort = new Map<number, Claim>();
  const ports: Record<ServedKind, Set<number>> = { dns: new Set(), proxy: new Set() };
  for (const kind of ['dns', 'proxy'] as const)
    for (const p of profiles) {
      const served = servedPort(p, kind);
      if (!served) continue;
      ports[kind].add(served.port);
      const uid = uidOf(config, p, kind, facts);
      const seen = byPort.get(served.port);
      if (seen === undefined) byPort.set(served.port, { uid, profile: p.name, kind });
      else if (seen.uid !== uid) throw conflict(config, p, kind, served.port, seen, uid);
    }
  // By port, so that a profile added anywhere in the config appends its port's rules when its port is the highest.
  const list = (kind: ServedKind) =>
    [...ports[kind]].map((port) => ({ port, uid: byPort.get(port)!.uid })).sort((a, b) => a.port - b.port);
  return { dns: list('dns'), proxy: list('proxy') };
}

/** A redirect port as `status` and `doctor` check it: who must answer there, for which profiles. */
export interface ServedPort {
  readonly kind: ServedKind;
  readonly port: number;
  /** What the redirect carries: DNS over UDP and TCP, a proxy TCP only. */
  readonly protocols: ReadonlyArray<'udp' | 'tcp'>;
  /** The server as written (default root). Profiles sharing a port share it (compile refuses otherwise). */
  readonly server: string;
  readonly profiles: readonly string[];
}

/** Every `dns` and `proxy` redirect port of `config`, dns first, each in port order. */
export function servedPorts(config: Config): ServedPort[] {
  const out: ServedPort[] = [];
  for (const kind of ['dns', 'proxy'] as const) {
    const byPort = new Map<number, { server: string; profiles: string[] }>();
    for (const p of Object.values(config.profiles)) {
      const served = servedPort(p, kind);
      if (!served) continue;
      const seen = byPort.get(served.port);
      if (seen) seen.profiles.push(p.name);
      else byPort.set(served.port, { server: served.server, profiles: [p.name] });
    }
    for (const [port, { server, profiles }] of [...byPort].sort((a, b) => a[0] - b[0]))
      out.push({ kind, port, protocols: kind === 'dns' ? ['udp', 'tcp'] : ['tcp'], server, profiles });
  }
  return out;
}
