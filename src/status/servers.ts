// The `servers` of `netcg status`: per redirect port, the server the config names
// and the sockets bound there now. Pure: the listeners and the user database's
// answers are read by collect.ts.
import type { ServedPort } from '../compile/servers.js';
import type { Listener } from '../sockets/listeners.js';
import type { ListenerStatus, ServerStatus } from './model.js';

/** A socket as the sockets reader gives it. */
export type ListenerFact = Listener;

export interface ServersInput {
  ports: readonly ServedPort[];
  listeners: readonly ListenerFact[];
  /** The uid of each `server` value (null: no such user). */
  serverUids: Readonly<Record<string, number | null>>;
  /** Names of the listeners' uids. */
  userNames: Readonly<Record<number, string>>;
}

const ORDER = { udp: 0, tcp: 1 } as const;

export function serverStatuses(input: ServersInput): ServerStatus[] {
  return input.ports.map((p) => {
    const uid = input.serverUids[p.server] ?? null;
    const listeners: ListenerStatus[] = input.listeners
      .filter((l) => l.port === p.port && p.protocols.includes(l.protocol))
      .sort((a, b) => ORDER[a.protocol] - ORDER[b.protocol] || a.family - b.family || a.inode - b.inode)
      .map((l) => ({
        protocol: l.protocol,
        family: l.family,
        address: l.address,
        uid: l.uid,
        user: input.userNames[l.uid] ?? String(l.uid),
        inode: l.inode,
        processes: l.processes.map((x) => ({ pid: x.pid, comm: x.comm })),
        server: uid !== null && l.uid === uid,
      }));
    return {
      kind: p.kind,
      port: p.port,
      protocols: [...p.protocols],
      profiles: [...p.profiles],
      server: { user: p.server, uid },
      listeners,
    };
  });
}
