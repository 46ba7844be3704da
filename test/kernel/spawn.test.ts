// addon.spawnInCgroup on the real kernel: the child is in the target cgroup
// before its first instruction (a C probe reads /proc/self/cgroup as its very
// first action, and a socket it opens at once is classified by nft as the
// cgroup's), on cgroup2 via clone3 CLONE_INTO_CGROUP and via fork+join, and on
// net_cls v1 via fork+join. Also: exit codes and signals through the pidfd,
// restored signal state, only stdio surviving exec, and refused input.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addon, type PidfdWaitResult, type SpawnInCgroupOptions } from '../../src/native/index.js';
import {
  cgroupOf,
  createScratchCgroup,
  type Hierarchy,
  type ScratchCgroup,
} from '../fixtures/scratch-cgroup.js';
import { withNetns, type Netns } from '../helpers/netns.js';

const probeSource = fileURLToPath(new URL('../fixtures/cgroup-probe.c', import.meta.url));
const nodeChild = fileURLToPath(new URL('../fixtures/spawn-child.mjs', import.meta.url));
let workDir: string;
let probe: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'netcg-spawn-'));
  probe = join(workDir, 'cgroup-probe');
  execFileSync('cc', ['-O2', '-o', probe, probeSource]);
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface Finished {
  out: string;
  exit: PidfdWaitResult;
  method: string;
  pid: number;
}

/** Spawns with stdout (and stderr) on a pipe, reads it to EOF, then reaps through the pidfd. */
function run(opts: Omit<SpawnInCgroupOptions, 'stdio'>): Finished {
  const [r, w] = addon.pipe();
  let child: ReturnType<typeof addon.spawnInCgroup>;
  try {
    child = addon.spawnInCgroup({ ...opts, stdio: [0, w, w] });
  } finally {
    closeSync(w);
  }
  try {
    const out = readFileSync(r, 'utf8');
    const exit = addon.pidfdWait(child.pidfd);
    return { out, exit, method: child.method, pid: child.pid };
  } finally {
    closeSync(r);
    closeSync(child.pidfd);
  }
}

async function withScratch<T>(h: Hierarchy, fn: (cg: ScratchCgroup) => Promise<T> | T): Promise<T> {
  const cg = createScratchCgroup(h);
  try {
    return await fn(cg);
  } finally {
    cg.remove();
  }
}

const ways = [
  { hierarchy: 'cgroup2', method: 'clone3' },
  { hierarchy: 'cgroup2', method: 'fork' },
  { hierarchy: 'net_cls', method: 'fork' },
] as const;

/** An output-hook counter in `ns` for UDP to `port` whose sockets belong to the scratch cgroup. */
function addCounterRule(ns: Netns, cg: ScratchCgroup, port: number): void {
  ns.nft('add', 'table', 'inet', 'h7');
  ns.nft('add', 'chain', 'inet', 'h7', 'out', '{ type filter hook output priority 0; }');
  const match =
    cg.hierarchy === 'cgroup2'
      ? ['socket', 'cgroupv2', 'level', '1', `"${relative('/sys/fs/cgroup', cg.dir)}"`] // nft resolves below /sys/fs/cgroup
      : ['meta', 'cgroup', classid];
  ns.nft('add', 'rule', 'inet', 'h7', 'out', ...match, 'udp', 'dport', String(port), 'counter');
}

function counterPackets(ns: Netns): number {
  const m = /counter packets (\d+)/.exec(ns.nft('list', 'chain', 'inet', 'h7', 'out'));
  return Number(m?.[1]);
}

// A classid no one else uses (major:minor 0x4837:random).
const classid = `0x4837${Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0')}`;

describe.each(ways)('spawnInCgroup into $hierarchy via $method', ({ hierarchy, method }) => {
  it("is in the cgroup at the program's first instruction", () =>
    withScratch(hierarchy, (cg) => {
      const r = run({ file: probe, argv: ['cgroup-probe'], cgroup: cg.dir, method });
      expect(r.method).toBe(method);
      expect(r.exit).toEqual({ exited: true, pid: r.pid, code: 0, signal: null });
      // The probe read this before doing anything else.
      expect(cgroupOf(r.out, hierarchy)).toBe(cg.name);
      // The spawning process itself did not move.
      expect(cgroupOf(readFileSync('/proc/self/cgroup', 'utf8'), hierarchy)).not.toBe(cg.name);
    }));

  it("tags a socket the program opens at once: nft counts it as the cgroup's", () =>
    withScratch(hierarchy, (cg) =>
      withNetns((ns) => {
        if (hierarchy === 'net_cls')
          execFileSync('sh', ['-c', `echo ${classid} > ${cg.dir}/net_cls.classid`]);
        const port = 40000 + Math.floor(Math.random() * 20000);
        addCounterRule(ns, cg, port);
        // Control: the same program spawned outside the cgroup is not counted.
        const outside = run({ file: probe, argv: ['cgroup-probe', ns.path, String(port)] });
        expect(outside.exit).toMatchObject({ code: 0 });
        expect(counterPackets(ns)).toBe(0);

        const inside = run({
          file: probe,
          argv: ['cgroup-probe', ns.path, String(port)],
          cgroup: cg.dir,
          method,
        });
        expect(inside.exit).toMatchObject({ code: 0 });
        expect(cgroupOf(inside.out, hierarchy)).toBe(cg.name);
        expect(counterPackets(ns)).toBe(1);
      }, 'nch7'),
    ));

  it('accepts an open cgroup directory fd instead of a path', () =>
    withScratch(hierarchy, (cg) => {
      const fd = openSync(cg.dir, 'r');
      try {
        const r = run({ file: 'cat', argv: ['cat', '/proc/self/cgroup'], cgroupFd: fd, method });
        expect(cgroupOf(r.out, hierarchy)).toBe(cg.name);
        expect(r.exit).toMatchObject({ code: 0 });
      } finally {
        closeSync(fd);
      }
    }));
});

describe('spawnInCgroup: the process it starts', () => {
  it('reports exit codes and signals like ChildProcess', () =>
    withScratch('cgroup2', (cg) => {
      expect(run({ file: 'sh', argv: ['sh', '-c', 'exit 7'], cgroup: cg.dir }).exit).toMatchObject({
        code: 7,
        signal: null,
      });
      expect(run({ file: 'sh', argv: ['sh', '-c', 'kill -TERM $$'], cgroup: cg.dir }).exit).toMatchObject({
        code: null,
        signal: 'SIGTERM',
      });
      // Node ignores SIGPIPE; the child must get the default disposition back (and die of it).
      expect(
        run({ file: 'sh', argv: ['sh', '-c', 'kill -PIPE $$; echo survived'], cgroup: cg.dir }),
      ).toMatchObject({
        out: '',
        exit: { code: null, signal: 'SIGPIPE' },
      });
    }));

  it('starts with no ignored or blocked signals, blocking stdio, the given env and cwd', () =>
    withScratch('net_cls', (cg) => {
      // A handler in this (Node) process must not be inherited by the forked child either.
      const handler = () => {};
      process.on('SIGUSR2', handler);
      let status: string;
      try {
        status = run({ file: 'cat', argv: ['cat', '/proc/self/status'], cgroup: cg.dir }).out;
      } finally {
        process.off('SIGUSR2', handler);
      }
      expect(status).toMatch(/^SigBlk:\s*0{16}$/m);
      expect(status).toMatch(/^SigIgn:\s*0{16}$/m);
      // SigCgt is what the exec'd program itself installed: none from us. Only our SIGUSR2
      // bit is checked; under the sanitized suite LD_PRELOAD=libasan makes `cat` catch
      // SIGSEGV/SIGBUS/SIGFPE itself (SigCgt 0x4c0).
      const caught = BigInt(`0x${/^SigCgt:\s*([0-9a-f]{16})$/m.exec(status)?.[1] ?? 'ffffffffffffffff'}`);
      expect(caught & (1n << BigInt(osConstants.signals.SIGUSR2 - 1))).toBe(0n);

      const r = run({
        file: 'sh',
        argv: ['sh', '-c', 'pwd; env | sort; sed -n "s/^flags:[[:space:]]*//p" /proc/$$/fdinfo/1'],
        env: { PATH: '/usr/bin:/bin', NETCG_X: 'a b=c' },
        cwd: '/proc',
        cgroup: cg.dir,
      });
      const [cwd, ...rest] = r.out.trim().split('\n');
      expect(cwd).toBe('/proc');
      expect(rest.filter((l) => l.includes('='))).toEqual([
        'NETCG_X=a b=c',
        'PATH=/usr/bin:/bin',
        'PWD=/proc',
      ]);
      expect(parseInt(rest.at(-1)!, 8) & 0o4000).toBe(0); // O_NONBLOCK cleared
    }));

  it('lets only stdio survive exec, even an fd the parent left inheritable', () =>
    withScratch('cgroup2', (cg) => {
      // bash's `100</dev/null` gives the Node child an fd 100 without close-on-exec.
      const spec = JSON.stringify({ file: probe, cgroup: cg.dir });
      const r = spawnSync('bash', ['-c', 'exec "$0" "$@" 100</dev/null', process.execPath, nodeChild, spec], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const fd100Flags = parseInt(/^FD100 ([0-7]+)$/m.exec(r.stdout)![1]!, 8);
      expect(fd100Flags & 0o2000000).toBe(0); // really inheritable in the parent (O_CLOEXEC bit clear)
      expect(cgroupOf(r.stdout, 'cgroup2')).toBe(cg.name);
      expect(r.stdout).toMatch(/^fds: 0 1 2$/m);
    }));

  it('throws ENOENT / EACCES / a chdir error when the child cannot start, having reaped it', () =>
    withScratch('cgroup2', (cg) => {
      // Children of this thread, zombies included: a failed spawn must not add one.
      const children = () => readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim();
      const before = children();
      const spawnIt = (o: Partial<SpawnInCgroupOptions>) => () =>
        addon.spawnInCgroup({ file: 'true', cgroup: cg.dir, stdio: [0, 1, 2], ...o });
      expect(spawnIt({ file: 'netcg-no-such-program-9f3a' })).toThrow(
        expect.objectContaining({
          code: 'ENOENT',
          op: 'spawn',
          message: expect.stringContaining('netcg-no-such-program-9f3a'),
        }),
      );
      expect(spawnIt({ file: probeSource })).toThrow(expect.objectContaining({ code: 'EACCES' }));
      expect(spawnIt({ cwd: '/netcg-no-such-dir' })).toThrow(
        expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining('chdir') }),
      );
      expect(children()).toBe(before);
      expect(cg.pids()).toEqual([]);
    }));

  it('PidfdWatch calls back once the child exits; pidfdWait(nonblocking) sees it running until then', async () => {
    const cg = createScratchCgroup('cgroup2');
    try {
      const child = addon.spawnInCgroup({
        file: 'sleep',
        argv: ['sleep', '600'],
        cgroup: cg.dir,
        stdio: [0, 1, 2],
      });
      try {
        expect(addon.pidfdWait(child.pidfd, true)).toEqual({ exited: false });
        expect(cg.pids()).toEqual([child.pid]);
        const exited = new Promise<void>((resolve) => new addon.PidfdWatch(child.pidfd, resolve));
        process.kill(child.pid, 'SIGKILL');
        await exited;
        expect(addon.pidfdWait(child.pidfd, true)).toEqual({
          exited: true,
          pid: child.pid,
          code: null,
          signal: 'SIGKILL',
        });
        // Reaped: a second wait has nothing left.
        expect(() => addon.pidfdWait(child.pidfd, true)).toThrow(expect.objectContaining({ code: 'ECHILD' }));
      } finally {
        closeSync(child.pidfd);
      }
    } finally {
      cg.remove();
    }
  });

  it('a closed PidfdWatch never calls back', async () => {
    const child = addon.spawnInCgroup({ file: 'sleep', argv: ['sleep', '0.1'], stdio: [0, 1, 2] });
    try {
      let called = false;
      new addon.PidfdWatch(child.pidfd, () => (called = true)).close();
      expect(addon.pidfdWait(child.pidfd)).toMatchObject({ exited: true, code: 0 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(called).toBe(false);
    } finally {
      closeSync(child.pidfd);
    }
  });

  it('refuses malformed or contradictory options before forking', () =>
    withScratch('net_cls', (cg) => {
      const spawnAny = addon.spawnInCgroup as unknown as (o: unknown) => unknown;
      const base = { file: 'true', stdio: [0, 1, 2] };
      expect(() => spawnAny({ ...base, stdio: [0, 1] })).toThrow(
        expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('opts.stdio') }),
      );
      expect(() => spawnAny({ ...base, argv: ['true', 1] })).toThrow(
        expect.objectContaining({ message: expect.stringContaining('opts.argv[1]') }),
      );
      expect(() => spawnAny({ ...base, env: { A: 1 } })).toThrow(
        expect.objectContaining({ message: expect.stringContaining('opts.env.A') }),
      );
      expect(() => spawnAny({ ...base, method: 'vfork' })).toThrow(
        expect.objectContaining({ message: expect.stringContaining('opts.method') }),
      );
      // CLONE_INTO_CGROUP exists only for cgroup2.
      expect(() => spawnAny({ ...base, cgroup: cg.dir, method: 'clone3' })).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
      expect(() => spawnAny({ ...base, cgroup: '/tmp' })).toThrow(
        expect.objectContaining({ code: 'ENOTCGROUP', message: expect.stringContaining('not a cgroup') }),
      );
      expect(() => spawnAny({ ...base, cgroup: cg.dir, cgroupFd: 0 })).toThrow(
        expect.objectContaining({ message: expect.stringContaining('not both') }),
      );
    }));
});
