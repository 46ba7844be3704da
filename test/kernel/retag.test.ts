// The kernel semantics netcg's enroll lives with (README, "Enrolling running
// processes"), shown with real packets counted by nft in a throwaway netns:
//   net_cls (v1): moving a task re-tags the sockets it already has, so a socket
//     opened before the enroll sends packets that match the profile's classid;
//   cgroup v2: a socket keeps the cgroup it was created in, so a socket opened
//     before the enroll does NOT match `socket cgroupv2`, one opened after does.
// The moves go through the library's Enroller (enrollCgroup), as netcg enroll does.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { Enroller } from '../../src/process/enroll.js';
import { createScratchCgroup, cgroupOfPid, type ScratchCgroup } from '../fixtures/scratch-cgroup.js';
import { withNetns, type Netns } from '../helpers/netns.js';
import type { Config } from '../../src/config/index.js';

const holderScript = fileURLToPath(new URL('../fixtures/socket-holder.mjs', import.meta.url));

/** The socket-holder fixture inside `ns`, driven line by line. */
class Holder {
  readonly child: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: Array<(line: string) => void> = [];
  constructor(ns: Netns) {
    // nsenter execs node: the PID we enroll is the holder's own.
    this.child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, holderScript], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#lines = createInterface({ input: this.child.stdout! });
    this.#lines.on('line', (l) => this.#waiting.shift()?.(l));
  }
  get pid(): number {
    return this.child.pid!;
  }
  next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  async ask(cmd: string): Promise<string> {
    const answer = this.next();
    this.child.stdin!.write(`${cmd}\n`);
    return answer;
  }
  stop(): void {
    this.child.kill('SIGKILL');
  }
}

async function withHolder<T>(ns: Netns, fn: (h: Holder) => Promise<T>): Promise<T> {
  const h = new Holder(ns);
  try {
    expect(await h.next()).toBe('ready');
    return await fn(h);
  } finally {
    h.stop();
  }
}

/** An output counter per UDP port: `<match> udp dport <port> counter`. */
function addCounters(ns: Netns, match: string[], ports: number[]): void {
  ns.nft('add', 'table', 'inet', 'h10');
  ns.nft('add', 'chain', 'inet', 'h10', 'out', '{ type filter hook output priority 0; }');
  for (const port of ports)
    ns.nft('add', 'rule', 'inet', 'h10', 'out', ...match, 'udp', 'dport', String(port), 'counter');
}

function counted(ns: Netns, port: number): number {
  const m = new RegExp(`dport ${port} counter packets (\\d+)`).exec(
    ns.nft('list', 'chain', 'inet', 'h10', 'out'),
  );
  if (!m) throw new Error(`no counter for port ${port}`);
  return Number(m[1]);
}

const emptyConfig = { profiles: {} } as unknown as Config;

async function withScratch<T>(h: 'cgroup2' | 'net_cls', fn: (cg: ScratchCgroup) => Promise<T>): Promise<T> {
  const cg = createScratchCgroup(h);
  try {
    return await fn(cg);
  } finally {
    cg.remove();
  }
}

const port = () => 20000 + Math.floor(Math.random() * 20000);

describe('socket re-tagging on enroll', () => {
  it('net_cls v1: a socket opened before the enroll is re-tagged and matches the profile classid afterwards', () =>
    withScratch('net_cls', (cg) =>
      withNetns(async (ns) => {
        const classid = `0x4810${Math.floor(Math.random() * 0xffff)
          .toString(16)
          .padStart(4, '0')}`;
        writeFileSync(join(cg.dir, 'net_cls.classid'), classid);
        const [before, after] = [port(), port() + 1];
        addCounters(ns, ['meta', 'cgroup', classid], [before, after]);
        await withHolder(ns, async (h) => {
          expect(await h.ask('open')).toBe('opened 0');
          expect(await h.ask(`send 0 ${before}`)).toBe('sent 0');
          expect(counted(ns, before)).toBe(0); // not a member yet
          const enroller = new Enroller(emptyConfig);
          try {
            expect(enroller.enrollCgroup(cg.dir, [h.pid])).toEqual([{ pid: h.pid, ok: true }]);
          } finally {
            enroller.close();
          }
          expect(cgroupOfPid(h.pid, 'net_cls')).toBe(cg.name);
          // The same, old socket now carries the classid.
          expect(await h.ask(`send 0 ${after}`)).toBe('sent 0');
          expect(counted(ns, after)).toBe(1);
        });
      }, 'nch10r'),
    ));

  it('cgroup v2: a socket keeps the cgroup it was created in; only sockets opened after the enroll match', () =>
    withScratch('cgroup2', (cg) =>
      withNetns(async (ns) => {
        const [oldSock, newSock] = [port(), port() + 1];
        // nft resolves the path below /sys/fs/cgroup ("unified/<name>" on this hybrid host).
        addCounters(
          ns,
          ['socket', 'cgroupv2', 'level', '1', `"${relative('/sys/fs/cgroup', cg.dir)}"`],
          [oldSock, newSock],
        );
        await withHolder(ns, async (h) => {
          expect(await h.ask('open')).toBe('opened 0');
          const enroller = new Enroller(emptyConfig);
          try {
            expect(enroller.enrollCgroup(cg.dir, [h.pid])).toEqual([{ pid: h.pid, ok: true }]);
          } finally {
            enroller.close();
          }
          expect(cgroupOfPid(h.pid, 'cgroup2')).toBe(cg.name);
          expect(await h.ask('open')).toBe('opened 1');
          expect(await h.ask(`send 0 ${oldSock}`)).toBe('sent 0');
          expect(await h.ask(`send 1 ${newSock}`)).toBe('sent 1');
          expect(counted(ns, oldSock)).toBe(0); // created before: still the old cgroup's
          expect(counted(ns, newSock)).toBe(1); // created after: the profile's
        });
      }, 'nch10r'),
    ));
});
