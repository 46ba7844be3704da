// Who listens on a port: the sockets bound to it in a network namespace (the
// addon's inet_diag dump: owner uid and inode per socket) and the processes that
// hold them (/proc/*/fd links `socket:[INODE]`). Reads only; used by `netcg status`
// and `netcg doctor` for the `dns` and `proxy` redirect ports.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

import { openHandle } from '../native/index.js';
import type { SockDiagEntry } from '../native/types.js';

export type Protocol = 'tcp' | 'udp';

/** One socket bound to a port, and the processes holding it. */
export interface Listener {
  readonly protocol: Protocol;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  readonly uid: number;
  readonly inode: number;
  /** Every process with the socket open (a forked daemon shares it); empty when none is visible. */
  readonly processes: ReadonlyArray<{ readonly pid: number; readonly comm: string }>;
}

/** What to look for: a port and the protocols that matter on it. */
export interface PortQuery {
  readonly port: number;
  readonly protocols: readonly Protocol[];
}

const TCP_LISTEN = 10;
const TCP_CLOSE = 7;
/** TCP: listening sockets (they own the connections they accept). UDP: bound, unconnected sockets (a connected one hears its peer only). */
const STATES: Record<Protocol, { protocol: 6 | 17; states: number }> = {
  tcp: { protocol: 6, states: 1 << TCP_LISTEN },
  udp: { protocol: 17, states: 1 << TCP_CLOSE },
};

/** inode -> the processes (pid, comm) holding it, for each of `inodes`: one pass over every /proc/PID/fd. */
function socketHolders(inodes: ReadonlySet<number>): Map<number, Array<{ pid: number; comm: string }>> {
  const holders = new Map<number, Array<{ pid: number; comm: string }>>();
  if (inodes.size === 0) return holders;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or a kernel thread
    }
    const found = new Set<number>();
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[([0-9]+)\]$/.exec(target);
      if (m && inodes.has(Number(m[1]))) found.add(Number(m[1]));
    }
    if (found.size === 0) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      /* exited meanwhile: the pid still says who held it */
    }
    for (const inode of found) {
      const list = holders.get(inode) ?? [];
      list.push({ pid: Number(entry), comm });
      holders.set(inode, list);
    }
  }
  return holders;
}

/**
 * The sockets bound to each queried port in the namespace at `netns` (ours when
 * undefined), both families, with their holders; one kernel-filtered dump per
 * port, protocol and family.
 */
export function readListeners(netns: string | undefined, queries: readonly PortQuery[]): Listener[] {
  // A port both a `dns` and a `proxy` redirect use is read once.
  const wanted = new Set(queries.flatMap((q) => q.protocols.map((proto) => `${proto}/${q.port}`)));
  if (wanted.size === 0) return [];
  const h = openHandle(netns);
  const found: Array<SockDiagEntry & { proto: Protocol }> = [];
  try {
    for (const key of wanted) {
      const [proto, port] = key.split('/') as [Protocol, string];
      for (const family of [4, 6] as const)
        for (const s of h.sockDump({ family, ...STATES[proto], port: Number(port) }))
          found.push({ ...s, proto });
    }
  } finally {
    h.close();
  }
  const holders = socketHolders(new Set(found.map((s) => s.inode).filter((i) => i !== 0)));
  return found.map((s) => ({
    protocol: s.proto,
    family: s.family,
    address: s.address,
    port: s.port,
    uid: s.uid,
    inode: s.inode,
    processes: (holders.get(s.inode) ?? []).sort((a, b) => a.pid - b.pid),
  }));
}
