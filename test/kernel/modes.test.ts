// Issue 5, "Who may do what": netcg never creates a world-writable file or any unix
// socket. Every command (apply, run, enroll, leave, down) runs through the CLI under
// strace with umask 000, so nothing hides behind a friendly umask:
//   - every file or directory it creates (open with O_CREAT, mkdir) asks for a mode
//     without the o+w bit, and what exists afterwards (the profile cgroups and their
//     files in both hierarchies, /run/netcg and its lock files) has no o+w bit;
//   - it creates no AF_UNIX socket (socket/socketpair) and binds no socket to a path.
//     strace sees every socket call of netcg's processes; /proc/net/unix is not used,
//     since other tests running in parallel create unix sockets of their own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NETCG_CLI } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import type { Netns } from '../helpers/netns.js';
import { VIA, cgroupParentDirs, cgroupTree, createQuietNetns } from '../helpers/quiet-netns.js';

const LOCK_DIR = '/run/netcg';

let ns: Netns;
let cfg: TempConfig;
let traceDir: string;
let sleeper: ChildProcess | undefined;

beforeAll(() => {
  ns = createQuietNetns('ncmo');
  traceDir = mkdtempSync(join(tmpdir(), 'netcg-modes-'));
  // net_cls profiles (one owned by root, one by nobody) and a cgroup v2 profile delegated to nobody.
  cfg = tempConfig(
    `profiles:\n  dns:\n    classid: 42\n    owner: nobody\n    dns: { redirect: 5354 }\n    ipv6: reject\n  vpn:\n    classid: 43\n    owner: root\n    route: { via: ${VIA} }\n  v2:\n    match: cgroupv2\n    owner: nobody\n    ipv6: reject\n`,
    'ncmo',
  );
  sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
});

afterAll(() => {
  sleeper?.kill('SIGKILL');
  ns?.remove();
  cfg?.remove();
  if (traceDir) rmSync(traceDir, { recursive: true, force: true });
});

interface Traced {
  code: number | null;
  stderr: string;
  /** strace lines of every process of the command. */
  calls: string[];
}

/** Runs the CLI under `strace -f` with umask 000 (optionally inside the namespace, as `netcg run` members are). */
function traced(args: string[], inNetns = false): Traced {
  const out = join(traceDir, `${args[0]}-${Date.now()}.strace`);
  const cli = [process.execPath, NETCG_CLI, ...args].map((a) => `'${a}'`).join(' ');
  const inner = `umask 000; exec ${inNetns ? `nsenter --net=${ns.path} ` : ''}${cli}`;
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      out,
      '-e',
      'trace=socket,socketpair,bind,openat,open,creat,mkdir,mkdirat,mknod,mknodat,chmod,fchmod,fchmodat',
      'sh',
      '-c',
      inner,
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, stderr: r.stderr, calls: readFileSync(out, 'utf8').split('\n').filter(Boolean) };
}

/** Creation calls whose requested mode has o+w, and unix sockets: what must never appear. */
function violations(calls: string[]): string[] {
  return calls.filter((l) => {
    if (/\b(socket|socketpair)\((AF_UNIX|AF_LOCAL|PF_UNIX)/.test(l)) return true;
    if (/\bbind\(.*sun_path=/.test(l)) return true;
    const mode =
      /\b(?:openat|open)\(.*O_CREAT.*, (0[0-7]+)\)/.exec(l)?.[1] ??
      /\b(?:creat|mkdir|mkdirat|mknod|mknodat)\(.*, (0[0-7]+)/.exec(l)?.[1] ??
      /\b(?:chmod|fchmod|fchmodat)\(.*, (0[0-7]+)\)/.exec(l)?.[1];
    return mode !== undefined && (Number.parseInt(mode, 8) & 0o002) !== 0;
  });
}

/** What netcg made that exists now, with an o+w bit (symlinks aside: their mode means nothing). */
function worldWritable(): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const st = lstatSync(path);
    if (!st.isSymbolicLink() && (st.mode & 0o002) !== 0)
      found.push(`${path} ${(st.mode & 0o7777).toString(8)}`);
    if (st.isDirectory()) for (const e of readdirSync(path)) visit(join(path, e));
  };
  for (const dir of cgroupParentDirs(cfg.cgroupParent)) visit(dir);
  if (existsSync(LOCK_DIR)) visit(LOCK_DIR);
  return found;
}

describe('no world-writable file and no unix socket, even with umask 000', () => {
  const steps: Array<[string, () => Traced]> = [
    ['apply', () => traced(['apply', '-c', cfg.file, '--netns', ns.path])],
    ['apply again', () => traced(['apply', '-c', cfg.file, '--netns', ns.path])],
    ['run', () => traced(['run', '-c', cfg.file, 'dns', '--', '/bin/true'], true)],
    ['enroll', () => traced(['enroll', '-c', cfg.file, 'vpn', String(sleeper!.pid)])],
    ['enroll (cgroup v2)', () => traced(['enroll', '-c', cfg.file, 'v2', String(sleeper!.pid)])],
    ['leave', () => traced(['leave', '-c', cfg.file, String(sleeper!.pid)])],
    ['down', () => traced(['down', '-c', cfg.file, '--netns', ns.path])],
  ];

  it.each(steps.map(([name], i) => [name, i] as const))('%s', (name, i) => {
    const r = steps[i]![1]();
    expect(r.code, r.stderr).toBe(0);
    // The trace really covers the command (it opened netlink sockets or cgroup files).
    expect(
      r.calls.some((l) => /AF_NETLINK|cgroup/.test(l)),
      `${name}: empty trace`,
    ).toBe(true);
    expect(violations(r.calls)).toEqual([]);
    expect(worldWritable()).toEqual([]);
    if (name === 'apply') expect(cgroupTree(cfg.cgroupParent).length).toBeGreaterThan(3);
  });
});
