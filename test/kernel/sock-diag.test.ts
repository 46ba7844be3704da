// The addon's NETLINK_SOCK_DIAG dump (native/diag/) against the kernel: listeners
// bound in a throwaway namespace by processes of three users (root, nobody, a uid
// with no passwd entry), started through nsenter + setpriv. Each socket's owner
// uid, inode, address and port must equal what /proc/PID/net/{tcp,tcp6,udp,udp6}
// (the process's own namespace's tables) and /proc/PID/fd say; the kernel-side
// port and state filters must hold; readListeners finds the holding processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openHandle } from '../../src/native/index.js';
import type { NetlinkHandle, SockDiagEntry } from '../../src/native/types.js';
import { readListeners } from '../../src/sockets/listeners.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const LISTEN = fileURLToPath(new URL('../fixtures/listen.py', import.meta.url));
const PORTS = { root: 5471, nobody: 5472, stranger: 5473 } as const;
const UIDS = { root: 0, nobody: 65534, stranger: 4242 } as const;
const LISTEN_STATE = 10;
const CLOSE_STATE = 7;

let ns: Netns;
let h: NetlinkHandle;
const children: Record<string, ChildProcess> = {};

async function startListener(who: keyof typeof PORTS, kinds = 'both'): Promise<ChildProcess> {
  const py = ['/usr/bin/python3', LISTEN, String(PORTS[who]), kinds];
  const argv =
    who === 'root' ? py : ['setpriv', `--reuid=${UIDS[who]}`, '--regid=65534', '--clear-groups', ...py];
  const child = spawn('nsenter', [`--net=${ns.path}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', () => reject(new Error(`listen.py as ${who} exited: ${err}`)));
  });
  return child;
}

interface ProcSocket {
  family: 4 | 6;
  protocol: 6 | 17;
  state: number;
  address: string;
  port: number;
  uid: number;
  inode: number;
}

/** /proc/PID/net/<file>: the tables of PID's namespace, parsed (addresses of 127.0.0.1 and ::1 only). */
function procSockets(pid: number): ProcSocket[] {
  const out: ProcSocket[] = [];
  for (const [file, family, protocol] of [
    ['tcp', 4, 6],
    ['tcp6', 6, 6],
    ['udp', 4, 17],
    ['udp6', 6, 17],
  ] as const) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [hexAddr, hexPort] = f[1]!.split(':');
      const address =
        hexAddr === '0100007F'
          ? '127.0.0.1'
          : hexAddr === '00000000000000000000000001000000'
            ? '::1'
            : `other:${hexAddr}`;
      out.push({
        family,
        protocol,
        state: Number.parseInt(f[3]!, 16),
        address,
        port: Number.parseInt(hexPort!, 16),
        uid: Number(f[7]),
        inode: Number(f[9]),
      });
    }
  }
  return out;
}

function fdInodes(pid: number): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    if (m) out.add(Number(m[1]));
  }
  return out;
}

function dumpAll(port?: number): SockDiagEntry[] {
  const out: SockDiagEntry[] = [];
  for (const family of [4, 6] as const) {
    out.push(
      ...h.sockDump({ family, protocol: 6, states: 1 << LISTEN_STATE, ...(port ? { port } : {}) }),
      ...h.sockDump({ family, protocol: 17, states: 1 << CLOSE_STATE, ...(port ? { port } : {}) }),
    );
  }
  return out;
}

const byKey = (a: { family: number; protocol: number; address: string }, b: typeof a) =>
  `${a.protocol}/${a.family}/${a.address}`.localeCompare(`${b.protocol}/${b.family}/${b.address}`);

beforeAll(async () => {
  ns = createNetns('ncsd');
  children.root = await startListener('root');
  children.nobody = await startListener('nobody');
  children.stranger = await startListener('stranger', 'tcp');
  h = openHandle(ns.path);
}, 30_000);

afterAll(() => {
  h?.close();
  for (const c of Object.values(children)) c.kill('SIGKILL');
  ns?.remove();
});

describe('sockDump (NETLINK_SOCK_DIAG)', () => {
  for (const who of ['root', 'nobody', 'stranger'] as const)
    it(`reports ${who}'s sockets with the owner uid and inode /proc shows`, () => {
      const pid = children[who]!.pid!;
      const port = PORTS[who];
      const fromProc = procSockets(pid).filter((s) => s.port === port);
      const got = dumpAll(port);
      expect(got.length).toBe(who === 'stranger' ? 2 : 4);
      expect(got.slice().sort(byKey)).toEqual(fromProc.slice().sort(byKey));
      expect(got.every((s) => s.uid === UIDS[who])).toBe(true);
      const held = fdInodes(pid);
      for (const s of got) expect(held.has(s.inode), `inode ${s.inode} in /proc/${pid}/fd`).toBe(true);
    });

  it('filters by port and state in the kernel, and sees only its own namespace', () => {
    expect(dumpAll(PORTS.root).every((s) => s.port === PORTS.root)).toBe(true);
    const all = dumpAll();
    expect(new Set(all.map((s) => s.port))).toEqual(new Set(Object.values(PORTS)));
    // UDP sockets are CLOSE, not LISTEN: a TCP-state query for UDP finds none.
    expect(h.sockDump({ family: 4, protocol: 17, states: 1 << LISTEN_STATE })).toEqual([]);
    expect(h.sockDump({ family: 4, protocol: 6, states: 1 << LISTEN_STATE, port: 1 })).toEqual([]);
  });

  it('refuses a protocol it does not dump, naming the field', () => {
    expect(() => h.sockDump({ family: 4, protocol: 1 as 6, states: 1 })).toThrow(/filter\.protocol/);
    expect(() => h.sockDump({ family: 5 as 4, protocol: 6, states: 1 })).toThrow(/filter\.family/);
  });

  it('readListeners: the holding process (pid, comm) of each socket', () => {
    const found = readListeners(ns.path, [
      { port: PORTS.nobody, protocols: ['udp', 'tcp'] },
      { port: PORTS.stranger, protocols: ['tcp'] },
    ]);
    expect(found.map((l) => `${l.protocol} ${l.family} ${l.address}:${l.port} ${l.uid}`).sort()).toEqual([
      `tcp 4 127.0.0.1:${PORTS.nobody} 65534`,
      `tcp 4 127.0.0.1:${PORTS.stranger} 4242`,
      `tcp 6 ::1:${PORTS.nobody} 65534`,
      `tcp 6 ::1:${PORTS.stranger} 4242`,
      `udp 4 127.0.0.1:${PORTS.nobody} 65534`,
      `udp 6 ::1:${PORTS.nobody} 65534`,
    ]);
    for (const l of found)
      expect(l.processes).toEqual([
        {
          pid: (l.port === PORTS.nobody ? children.nobody : children.stranger)!.pid,
          comm: 'python3',
        },
      ]);
  });

  it('a closed handle refuses', () => {
    const closed = openHandle(ns.path);
    closed.close();
    expect(() => closed.sockDump({ family: 4, protocol: 6, states: 1 << LISTEN_STATE })).toThrow(/closed/);
  });
});
