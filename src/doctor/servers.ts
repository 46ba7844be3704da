// The `dns` and `proxy` redirect ports: is the server listening, and nobody else?
// netcg drops what any other user's socket sends members from these ports
// (filter_dnsreply, filter_proxyreply), so an impostor answers nothing; doctor says
// who is there so the operator learns it before members' lookups fail.
import type { ListenerStatus, ServerStatus } from '../status/model.js';
import { error, info, ok, warn, type Finding } from './finding.js';

const CHECK = 'redirect-server';
/** Ports below this need CAP_NET_BIND_SERVICE to bind: only a privileged process can listen there. */
const PRIVILEGED_BELOW = 1024;

const what = (s: ServerStatus) => `${s.kind} :${s.port} (${s.profiles.join(', ')})`;
const key = (s: ServerStatus) =>
  s.profiles.length === 1
    ? `profiles.${s.profiles[0]}.${s.kind}.server`
    : `${s.kind}.server of ${s.profiles.join(', ')}`;
const holders = (l: ListenerStatus) =>
  l.processes.map((p) => `pid ${p.pid} ${p.comm}`).join(', ') || 'no process visible';

function oneServer(s: ServerStatus): Finding[] {
  const out: Finding[] = [];
  const daemon = s.kind === 'dns' ? 'resolver' : 'proxy';
  if (s.server.uid === null)
    return [
      error(
        CHECK,
        `${what(s)}: the server "${s.server.user}" is no user on this host (apply refuses the config)`,
        `set ${key(s)} to the user your ${daemon} runs as, or create that user`,
      ),
    ];
  for (const l of s.listeners.filter((x) => !x.server))
    out.push(
      error(
        CHECK,
        `${what(s)}: ${l.protocol} ${l.address} is bound by uid ${l.uid} ${l.user} (${holders(l)}), not by the server ${s.server.user}: members get nothing from it`,
        `if that is your ${daemon}, set ${key(s)}: ${l.user}; else stop it and start the ${daemon} as ${s.server.user} (one that binds as root and drops privileges counts as root)`,
      ),
    );
  const empty = s.protocols.filter((p) => !s.listeners.some((l) => l.protocol === p));
  if (empty.length > 0)
    out.push(
      warn(
        CHECK,
        `${what(s)}: nothing listens on ${empty.join('/')} :${s.port}: members' ${s.kind === 'dns' ? 'lookups' : 'connections'} fail until the ${daemon} runs`,
        `start the ${daemon} on 127.0.0.1:${s.port} and [::1]:${s.port} (${s.protocols.join(' and ')}) as ${s.server.user}`,
      ),
    );
  if (out.length === 0) {
    const by = [...new Set(s.listeners.map(holders))].join('; ');
    out.push(ok(CHECK, `${what(s)}: answered by ${s.server.user} only (${by})`));
  }
  if (s.port >= PRIVILEGED_BELOW)
    out.push(
      info(
        CHECK,
        `${what(s)}: port ${s.port} is unprivileged, so any user may bind it while the ${daemon} is down; netcg drops what any socket but ${s.server.user}'s sends members from it`,
      ),
    );
  return out;
}

export function checkRedirectServers(
  servers: readonly ServerStatus[] | undefined,
  wanted: boolean,
): Finding[] {
  if (!wanted) return [];
  if (!servers)
    return [info(CHECK, 'not checked (the addon did not load): who listens on the redirect ports')];
  return servers.flatMap(oneServer);
}
