// Enroller and `netcg enroll` / `netcg leave` on the real kernel, with throwaway
// profile cgroups (a temp config's cgroupParent under the net_cls hierarchy) and
// throwaway origin cgroups: per-PID outcomes with dead PIDs among live ones,
// remembered origins per hierarchy (also on cgroup2), the root as the fallback,
// and the CLI's lines, JSON and exit codes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findCgroup2Mount, readCgroupMounts } from '../../src/cgroups/mountinfo.js';
import { findNetCls } from '../../src/cgroups/netcls.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { Enroller, openSocketCount } from '../../src/process/enroll.js';
import {
  createScratchCgroup,
  cgroupOfPid,
  type Hierarchy,
  type ScratchCgroup,
} from '../fixtures/scratch-cgroup.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { deadPid, sleepers } from '../helpers/processes.js';

let cfg: TempConfig;
let config: Config;
let root: string;
const profileDir = (p: string) => join(root, cfg.cgroupParent, p);

beforeAll(() => {
  cfg = tempConfig(
    'profiles:\n  a:\n    classid: 0x00ea0001\n    ipv6: reject\n  b:\n    classid: 0x00ea0002\n    ipv6: reject\n',
    'ncen',
  );
  config = loadConfig(cfg.file);
  root = findNetCls()!;
  // What `netcg apply` does for the cgroups, without a namespace to apply the rules in.
  for (const [p, classid] of [
    ['a', '0x00ea0001'],
    ['b', '0x00ea0002'],
  ] as const) {
    mkdirSync(profileDir(p), { recursive: true });
    writeFileSync(join(profileDir(p), 'net_cls.classid'), classid);
  }
});
afterAll(() => cfg?.remove());

/** Runs fn with `n` sleepers that start in a scratch cgroup of `h` (their origin); everything is removed after. */
async function withSleepersIn<T>(
  h: Hierarchy,
  n: number,
  fn: (pids: number[], origin: ScratchCgroup) => Promise<T> | T,
): Promise<T> {
  const origin = createScratchCgroup(h);
  const list = await sleepers(n);
  try {
    const pids = list.map((c) => c.pid!);
    for (const pid of pids) writeFileSync(join(origin.dir, 'cgroup.procs'), `${pid}\n`);
    return await fn(pids, origin);
  } finally {
    for (const c of list) c.kill('SIGKILL');
    origin.remove();
  }
}

const where = (pid: number, h: Hierarchy = 'net_cls') => cgroupOfPid(pid, h);

describe('Enroller', () => {
  it('enrolls live PIDs past a dead one (ESRCH), moves them between profiles, and leave() returns them to where it found them', async () => {
    const dead = await deadPid();
    await withSleepersIn('net_cls', 2, async ([p1, p2], origin) => {
      const e = new Enroller(config);
      try {
        expect(e.enroll('a', [p1!, dead, p2!])).toEqual([
          { pid: p1, ok: true },
          { pid: dead, ok: false, code: 'ESRCH', errno: 3 },
          { pid: p2, ok: true },
        ]);
        expect([where(p1!), where(p2!)]).toEqual([`/${cfg.cgroupParent}/a`, `/${cfg.cgroupParent}/a`]);
        // Moving between profiles keeps the first origin.
        expect(e.enroll('b', [p1!, p2!])).toEqual([
          { pid: p1, ok: true },
          { pid: p2, ok: true },
        ]);
        expect(where(p1!)).toBe(`/${cfg.cgroupParent}/b`);
        expect(e.leave([p1!, dead, p2!])).toEqual([
          { pid: p1, ok: true },
          { pid: dead, ok: false, code: 'ESRCH' },
          { pid: p2, ok: true },
        ]);
        expect([where(p1!), where(p2!)]).toEqual([origin.name, origin.name]);
        // Only the net_cls hierarchy was touched: the cgroup2 path is unchanged.
        expect(where(p1!, 'cgroup2')).toBe(cgroupOfPid(process.pid, 'cgroup2'));
      } finally {
        e.close();
      }
    });
  });

  it('remembers origins on cgroup2 too (enrollCgroup)', () =>
    withSleepersIn('cgroup2', 3, async (pids, origin) => {
      const target = createScratchCgroup('cgroup2');
      const e = new Enroller(config);
      try {
        expect(e.enrollCgroup(target.dir, pids).every((o) => o.ok)).toBe(true);
        expect(target.pids().sort()).toEqual([...pids].sort());
        expect(e.leave(pids).every((o) => o.ok)).toBe(true);
        for (const pid of pids) expect(where(pid, 'cgroup2')).toBe(origin.name);
      } finally {
        e.close();
        target.remove();
      }
    }));

  // 400 PIDs: enough for enroll-origins.ts to list the hierarchy's cgroups instead of reading /proc
  // per PID, unless the host has more than ~33 cgroups in it (then it reads per PID: same answer).
  it.each(['net_cls', 'cgroup2'] as const)(
    'a batch of 400 PIDs from two origins (%s): leave() returns each to its own',
    (h) =>
      withSleepersIn(h, 400, async (pids, origin) => {
        // Half start in the origin, half in the hierarchy root: two different places to return to.
        const rootHalf = pids.slice(200);
        for (const pid of rootHalf) writeFileSync(join(origin.root, 'cgroup.procs'), `${pid}\n`);
        const target = createScratchCgroup(h);
        const e = new Enroller(config);
        try {
          expect(e.enrollCgroup(target.dir, pids).every((o) => o.ok)).toBe(true);
          expect(target.pids().length).toBe(400);
          expect(e.leave(pids).every((o) => o.ok)).toBe(true);
          for (const pid of pids.slice(0, 200)) expect(where(pid, h)).toBe(origin.name);
          for (const pid of rootHalf) expect(where(pid, h)).toBe('/');
        } finally {
          e.close();
          target.remove();
        }
      }),
  );

  it('falls back to the hierarchy root: for a PID it did not enroll, and when the origin cgroup is gone', () =>
    withSleepersIn('net_cls', 2, async ([p1, p2]) => {
      // p2's origin is a cgroup that will be removed before leave().
      const doomed = createScratchCgroup('net_cls');
      writeFileSync(join(doomed.dir, 'cgroup.procs'), `${p2}\n`);
      const first = new Enroller(config);
      try {
        expect(first.enroll('a', [p1!, p2!]).every((o) => o.ok)).toBe(true);
        doomed.remove();
        expect(first.leave([p2!])).toEqual([{ pid: p2, ok: true }]);
        expect(where(p2!)).toBe('/');
      } finally {
        first.close();
        if (existsSync(doomed.dir)) doomed.remove();
      }
      // A second Enroller (another program, or the CLI) never saw p1 enrolled.
      const second = new Enroller(config);
      try {
        expect(second.leave([p1!, p2!])).toEqual([
          { pid: p1, ok: true },
          { pid: p2, ok: false, code: 'ENOTMEMBER' },
        ]);
        expect(where(p1!)).toBe('/');
      } finally {
        second.close();
      }
    }));

  it('refuses non-integer PIDs and unknown profiles before moving anything, and is unusable once closed', () =>
    withSleepersIn('net_cls', 1, ([p], origin) => {
      const e = new Enroller(config);
      expect(() => e.enroll('a', [p!, 1.5])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => e.enroll('nope', [p!])).toThrow(expect.objectContaining({ code: 'ENOPROFILE' }));
      expect(where(p!)).toBe(origin.name);
      expect(e.enroll('a', [0])).toEqual([{ pid: 0, ok: false, code: 'EINVAL', errno: 22 }]);
      e.close();
      e.close();
      expect(() => e.enroll('a', [p!])).toThrow(expect.objectContaining({ code: 'EBADF' }));
    }));
});

describe('openSocketCount', () => {
  it('counts the socket:[…] fds of a process, 0 for one without and for a dead PID', async () => {
    const withSocket = spawn(
      process.execPath,
      ['-e', 'require("net").createServer().listen(0, "127.0.0.1", () => console.log("up"))'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [plain] = await sleepers(1);
    try {
      await once(withSocket.stdout!, 'data');
      expect(openSocketCount(withSocket.pid!)).toBeGreaterThanOrEqual(1);
      expect(openSocketCount(plain!.pid!)).toBe(0);
      expect(openSocketCount(await deadPid())).toBe(0);
    } finally {
      withSocket.kill('SIGKILL');
      plain!.kill('SIGKILL');
    }
  });
});

describe('netcg enroll / netcg leave', () => {
  it('prints one line per PID and exits 1 when any failed; --json has each outcome', async () => {
    const dead = await deadPid();
    await withSleepersIn('net_cls', 1, ([p]) => {
      const text = runCli(['enroll', '-c', cfg.file, 'a', String(p), String(dead)]);
      expect(text.code).toBe(1);
      expect(text.stdout).toBe(`${p}: enrolled\n${dead}: failed ESRCH (no such process)\n`);
      expect(text.stderr).toBe(''); // net_cls: sockets follow, nothing to warn about
      expect(where(p!)).toBe(`/${cfg.cgroupParent}/a`);

      const json = JSON.parse(cliOk(['enroll', '-c', cfg.file, 'b', String(p), '--json']).stdout);
      expect(json).toEqual({
        ok: true,
        profile: 'b',
        cgroup: profileDir('b'),
        hierarchy: 'cgroup',
        results: [{ pid: p, ok: true }],
        warnings: [],
      });
      expect(where(p!)).toBe(`/${cfg.cgroupParent}/b`);

      const left = JSON.parse(runCli(['leave', '-c', cfg.file, String(p), String(dead), '--json']).stdout);
      expect(left).toEqual({
        ok: false,
        results: [
          { pid: p, ok: true },
          { pid: dead, ok: false, code: 'ESRCH' },
        ],
      });
      expect(where(p!)).toBe('/'); // a new process has no memory of the origin: the root
      // Now in no profile: leaving again is an error for that PID.
      expect(runCli(['leave', '-c', cfg.file, String(p)])).toMatchObject({
        code: 1,
        stdout: `${p}: failed ENOTMEMBER (not in any profile of this config)\n`,
      });
    });
  });

  it('refuses a PID that is not a number, and an unknown profile, with exit 1 and nothing moved', () =>
    withSleepersIn('net_cls', 1, ([p], origin) => {
      const bad = runCli(['enroll', '-c', cfg.file, 'a', String(p), 'x12']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/'x12' is not a process ID/);
      const unknown = runCli(['enroll', '-c', cfg.file, 'nope', String(p), '--json']);
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stdout).error.code).toBe('ENOPROFILE');
      expect(where(p!)).toBe(origin.name);
    }));
});

describe('netcg enroll into a cgroup v2 profile', () => {
  it('warns (stderr and --json warnings) when the process already has sockets, and not when it has none', async () => {
    const v2 = tempConfig('profiles:\n  v:\n    match: cgroupv2\n    ipv6: reject\n', 'ncen2');
    const v2root = findCgroup2Mount(readCgroupMounts())!.mountPoint;
    const parent = join(v2root, v2.cgroupParent);
    const dir = join(parent, 'v');
    mkdirSync(dir, { recursive: true });
    const withSocket = spawn(
      process.execPath,
      ['-e', 'require("net").createServer().listen(0, "127.0.0.1", () => console.log("up"))'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [plain] = await sleepers(1);
    try {
      await once(withSocket.stdout!, 'data');
      const json = JSON.parse(
        cliOk(['enroll', '-c', v2.file, 'v', String(withSocket.pid), String(plain!.pid), '--json']).stdout,
      );
      expect(json).toMatchObject({ ok: true, hierarchy: 'cgroup2', cgroup: dir });
      expect(json.warnings).toEqual([
        expect.objectContaining({
          pid: withSocket.pid,
          code: 'ESOCKETS',
          sockets: expect.any(Number),
          message: expect.stringContaining('keep their old cgroup'),
        }),
      ]);
      expect(where(withSocket.pid!, 'cgroup2')).toBe(`/${v2.cgroupParent}/v`);

      const text = runCli(['enroll', '-c', v2.file, 'v', String(withSocket.pid)]);
      expect(text.code).toBe(0);
      expect(text.stderr).toMatch(
        new RegExp(`^netcg: warning: process ${withSocket.pid} already has \\d+ open socket`),
      );
      expect(runCli(['enroll', '-c', v2.file, 'v', String(plain!.pid)]).stderr).toBe('');
    } finally {
      withSocket.kill('SIGKILL');
      plain!.kill('SIGKILL');
      for (const d of [dir, parent]) {
        for (let attempt = 0; attempt < 50 && existsSync(d); attempt++) {
          for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              writeFileSync(join(v2root, 'cgroup.procs'), pid);
            } catch {
              /* exited */
            }
          }
          try {
            rmdirSync(d);
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
      v2.remove();
    }
  });
});
