// The library's spawn() on the real kernel: race-free (the probe reads
// /proc/self/cgroup as its first action and at once sends a datagram that nft
// counts as the profile's), for a net_cls profile from a config and for a
// cgroup2 cgroup via clone3; and ChildProcess behaviour: stdio pipes, 'inherit'
// and 'ignore', 'spawn'/'exit'/'close' with code and signal, kill(), 'error'
// for a program that cannot start, env and cwd.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findNetCls } from '../../src/cgroups/netcls.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { spawn, spawnInCgroup, type ProfileChildProcess } from '../../src/process/spawn.js';
import { cgroupOf, createScratchCgroup } from '../fixtures/scratch-cgroup.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { withNetns, type Netns } from '../helpers/netns.js';

const probeSource = fileURLToPath(new URL('../fixtures/cgroup-probe.c', import.meta.url));
const classid = `0x4a10${Math.floor(Math.random() * 0xffff)
  .toString(16)
  .padStart(4, '0')}`;
let workDir: string;
let probe: string;
let cfg: TempConfig;
let config: Config;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'netcg-spawnlib-'));
  probe = join(workDir, 'cgroup-probe');
  execFileSync('cc', ['-O2', '-o', probe, probeSource]);
  cfg = tempConfig(`profiles:\n  p:\n    classid: ${classid}\n    ipv6: reject\n`, 'ncsp');
  config = loadConfig(cfg.file);
  const dir = join(findNetCls()!, cfg.cgroupParent, 'p');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'net_cls.classid'), classid);
});
afterAll(() => {
  cfg?.remove();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Collects a child's stdout and stderr and resolves on 'close' with everything. */
async function finished(
  child: ProfileChildProcess,
): Promise<{ out: string; err: string; code: number | null; signal: string | null }> {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  return { out, err, code, signal };
}

function counter(ns: Netns, match: string[], port: number): () => number {
  ns.nft('add', 'table', 'inet', 'h10s');
  ns.nft('add', 'chain', 'inet', 'h10s', 'out', '{ type filter hook output priority 0; }');
  ns.nft('add', 'rule', 'inet', 'h10s', 'out', ...match, 'udp', 'dport', String(port), 'counter');
  return () => Number(/counter packets (\d+)/.exec(ns.nft('list', 'chain', 'inet', 'h10s', 'out'))?.[1]);
}

describe('spawn() is race-free', () => {
  it("net_cls profile from the config: in the cgroup at the first instruction, its first socket counted as the profile's", () =>
    withNetns(async (ns) => {
      const port = 30000 + Math.floor(Math.random() * 20000);
      const packets = counter(ns, ['meta', 'cgroup', classid], port);
      const child = spawn(config, 'p', probe, [ns.path, String(port)]);
      const r = await finished(child);
      expect(r).toMatchObject({ code: 0, signal: null, err: '' });
      expect(cgroupOf(r.out, 'net_cls')).toBe(`/${cfg.cgroupParent}/p`);
      expect(child.method).toBe('fork');
      expect(packets()).toBe(1);
    }, 'nch10s'));

  it('cgroup2 via clone3 CLONE_INTO_CGROUP: the same, matched by socket cgroupv2', async () => {
    const cg = createScratchCgroup('cgroup2');
    try {
      await withNetns(async (ns) => {
        const port = 30000 + Math.floor(Math.random() * 20000);
        const packets = counter(
          ns,
          ['socket', 'cgroupv2', 'level', '1', `"${relative('/sys/fs/cgroup', cg.dir)}"`],
          port,
        );
        const child = spawnInCgroup(cg.dir, probe, [ns.path, String(port)]);
        const r = await finished(child);
        expect(r).toMatchObject({ code: 0, signal: null });
        expect(child.method).toBe('clone3');
        expect(cgroupOf(r.out, 'cgroup2')).toBe(cg.name);
        expect(packets()).toBe(1);
      }, 'nch10s');
    } finally {
      cg.remove();
    }
  });
});

describe('spawn() behaves like a ChildProcess', () => {
  it("pipes stdin, stdout and stderr, emits 'spawn', then 'exit' and 'close' with the code", async () => {
    const child = spawn(config, 'p', 'sh', ['-c', 'read line; echo "got $line"; echo oops >&2; exit 3']);
    const events: string[] = [];
    child.on('spawn', () => events.push('spawn'));
    child.on('exit', (code: number | null) => events.push(`exit ${code}`));
    child.stdin!.end('hello\n');
    const r = await finished(child);
    expect(r).toEqual({ out: 'got hello\n', err: 'oops\n', code: 3, signal: null });
    expect(events).toEqual(['spawn', 'exit 3']);
    expect(child.exitCode).toBe(3);
    expect(typeof child.pid).toBe('number');
  });

  it("kill() delivers a signal: 'exit' reports it; after the exit kill() is false", async () => {
    const child = spawn(config, 'p', 'sleep', ['600'], { stdio: 'ignore' });
    expect(child.stdout).toBeNull();
    await once(child, 'spawn');
    expect(child.kill()).toBe(true);
    const [code, signal] = await once(child, 'exit');
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    expect(child.killed).toBe(true);
    expect(child.signalCode).toBe('SIGTERM');
    expect(child.kill('SIGKILL')).toBe(false);
  });

  it("'inherit' hands the child our own stdio", async () => {
    const child = spawn(config, 'p', 'sleep', ['600'], { stdio: ['ignore', 'inherit', 'pipe'] });
    try {
      await once(child, 'spawn');
      expect(readlinkSync(`/proc/${child.pid}/fd/1`)).toBe(readlinkSync('/proc/self/fd/1'));
      expect(readlinkSync(`/proc/${child.pid}/fd/0`)).toBe('/dev/null');
      expect(child.stdout).toBeNull();
      expect(child.stderr).not.toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
    expect((await once(child, 'close')).slice(0, 2)).toEqual([null, 'SIGKILL']);
  });

  it("'ignore' is /dev/null opened read/write (O_RDWR, as child_process does) on each fd", async () => {
    const child = spawn(config, 'p', 'sleep', ['600'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      for (const fd of [0, 1, 2]) {
        expect(readlinkSync(`/proc/${child.pid}/fd/${fd}`)).toBe('/dev/null');
        const flags = parseInt(
          /^flags:\s*(\d+)/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/${fd}`, 'utf8'))![1]!,
          8,
        );
        expect(flags & 3).toBe(2); // O_ACCMODE === O_RDWR
      }
    } finally {
      child.kill('SIGKILL');
    }
    await once(child, 'close');
  });

  it('net_cls: the whole process is in the profile (cgroup.procs), though the child joined through tasks', async () => {
    const dir = join(findNetCls()!, cfg.cgroupParent, 'p');
    const child = spawn(config, 'p', 'sleep', ['600'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(child.pid));
      expect(readFileSync(join(dir, 'tasks'), 'utf8').split('\n')).toContain(String(child.pid));
    } finally {
      child.kill('SIGKILL');
    }
    await once(child, 'close');
  });

  it('runs with the given env and cwd', async () => {
    const child = spawn(config, 'p', 'sh', ['-c', 'pwd; echo "$NETCG_H10"'], {
      env: { PATH: '/usr/bin:/bin', NETCG_H10: 'x y' },
      cwd: '/proc',
    });
    expect(await finished(child)).toMatchObject({ out: '/proc\nx y\n', code: 0 });
  });

  it("a program that cannot start is an 'error' event (like child_process); an unknown profile throws", async () => {
    const child = spawn(config, 'p', 'netcg-no-such-program-h10');
    const [err] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ENOENT');
    expect(child.pid).toBeUndefined();
    expect(() => spawn(config, 'nope', 'true')).toThrow(expect.objectContaining({ code: 'ENOPROFILE' }));
  });
});
