// `owner:` on a cgroup v2 profile, as a REAL unprivileged user created for this
// test. netcg delegates the profile's cgroup per cgroup-v2.rst "Delegation": the
// directory, cgroup.procs, cgroup.threads and cgroup.subtree_control belong to the
// owner, nothing else. The kernel then lets a writer move a process only if it may
// write cgroup.procs of the COMMON ANCESTOR of source and destination; so the owner
// enrolls processes that are already in the delegated subtree (where root, e.g. a
// session manager, placed their session once), and is refused for anything outside
// it: another user's process, and also their own process outside the subtree.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, down } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { DELEGATED_FILES, findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { cliForOtherUsers, type UserCli } from '../helpers/cli-for-users.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const root = findCgroup2()!;
const user = uniqueName('ncv2u').slice(0, 30);
let uid: number;
let userCli: UserCli;
let ns: Netns;
let cfg: TempConfig;
let config: Config;
let dir: string;
const children: ChildProcess[] = [];

function inNs<T>(fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(ns.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

/** Runs a shell command as the throwaway user (no supplementary groups). */
function asUser(script: string, ...args: string[]) {
  return spawnSync(
    'setpriv',
    [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', 'sh', '-c', script, 'sh', ...args],
    { encoding: 'utf8' },
  );
}

/** Writes `pid` into `file` as the throwaway user; stderr is the errno code on failure (dash's echo only says "I/O error"). */
function writeAsUser(file: string, pid: number) {
  const script =
    'try { require("fs").writeFileSync(process.argv[1], process.argv[2]) } catch (e) { console.error(e.code); process.exit(1) }';
  return spawnSync(
    'setpriv',
    [
      `--reuid=${user}`,
      `--regid=${user}`,
      '--clear-groups',
      process.execPath,
      '-e',
      script,
      file,
      String(pid),
    ],
    { encoding: 'utf8' },
  );
}

/** A process of `who` (a user name, or root) that lives until afterAll. */
function sleeper(who?: string): number {
  const argv = who
    ? ['setpriv', `--reuid=${who}`, `--regid=${who}`, '--clear-groups', 'sleep', '60']
    : ['sleep', '60'];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

function cgroupOf(pid: number): string {
  return /^0::(.*)$/m.exec(execFileSync('cat', [`/proc/${pid}/cgroup`], { encoding: 'utf8' }))![1]!;
}

beforeAll(() => {
  userCli = cliForOtherUsers();
  execFileSync('useradd', ['--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', user]);
  uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  ns = createNetns('ncv2o');
  cfg = tempConfig(
    `profiles:\n  mine:\n    match: cgroupv2\n    owner: ${user}\n    ipv6: reject\n`,
    'ncv2o',
  );
  chmodSync(dirname(cfg.file), 0o755); // the user must be able to read the config
  config = loadConfig(cfg.file);
  inNs((b) => apply(config, b));
  dir = join(root, cfg.cgroupParent, 'mine');
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  try {
    if (config && ns) inNs((b) => down(config, b));
  } finally {
    ns?.remove();
    cfg?.remove(); // also moves stray PIDs to the root and removes every cgroup left under cgroupParent
    spawnSync('userdel', [user]);
    userCli?.remove();
  }
  expect(existsSync(join(root, cfg.cgroupParent))).toBe(false);
});

describe('owner on a cgroup v2 profile (delegation)', () => {
  it('apply chowns exactly the directory, cgroup.procs, cgroup.threads and cgroup.subtree_control to the owner', () => {
    for (const f of ['.', ...DELEGATED_FILES]) expect(statSync(join(dir, f)).uid, f).toBe(uid);
    const others = readdirSync(dir).filter(
      (f) => !(DELEGATED_FILES as readonly string[]).includes(f) && statSync(join(dir, f)).isFile(),
    );
    expect(others.length).toBeGreaterThan(0);
    for (const f of others) expect(statSync(join(dir, f)).uid, f).toBe(0);
    for (const f of ['.', ...readdirSync(dir)]) expect(statSync(join(dir, f)).mode & 0o002, f).toBe(0);
  });

  it('the owner enrolls their own process from inside the delegated subtree, with netcg run, without root', () => {
    // Root places the user's session in the subtree once (what a session manager does): here a
    // sub-cgroup the owner made. From there, `netcg run` as the owner joins the profile itself.
    const session = join(dir, 'session');
    expect(asUser('mkdir "$1"', session).status).toBe(0);
    const r = spawnSync(
      'sh',
      [
        '-c',
        'echo $$ > "$1/cgroup.procs" && exec setpriv --reuid="$2" --regid="$2" --clear-groups "$3" "$4" run -c "$5" mine -- cat /proc/self/cgroup',
        'sh',
        session,
        user,
        process.execPath,
        userCli.cli,
        cfg.file,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^0::/${cfg.cgroupParent}/mine$`, 'm'));
  });

  it("the owner moves their own process between the profile's cgroups (common ancestor: the profile, theirs)", () => {
    const pid = sleeper(user);
    writeFileSync(join(dir, 'cgroup.procs'), String(pid)); // root places it, as above
    const r = writeAsUser(join(dir, 'session', 'cgroup.procs'), pid);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(cgroupOf(pid)).toBe(`/${cfg.cgroupParent}/mine/session`);
  });

  it("is refused for another user's process outside the subtree (EACCES: the common ancestor is root's)", () => {
    const pid = sleeper(); // root's, in the root cgroup
    const r = writeAsUser(join(dir, 'cgroup.procs'), pid);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('EACCES');
    expect(cgroupOf(pid)).toBe('/');
  });

  it('is refused for their own process outside the subtree too (kernel rule; netcg run explains it)', () => {
    const r = spawnSync(
      'setpriv',
      [
        `--reuid=${user}`,
        `--regid=${user}`,
        '--clear-groups',
        process.execPath,
        userCli.cli,
        'run',
        '-c',
        cfg.file,
        'mine',
        '--',
        'true',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /cannot join the cgroup of profile 'mine' \(only root and the profile's owner may enroll processes; under cgroup v2 the owner only from inside the profile's delegated subtree/,
    );
  });

  it('down removes the profile cgroup together with the sub-cgroups the owner made, once empty', () => {
    for (const c of children) c.kill('SIGKILL');
    const session = join(dir, 'session');
    for (let i = 0; i < 50 && readFileLines(join(session, 'cgroup.procs')).length > 0; i++)
      execFileSync('sleep', ['0.05']);
    const r = inNs((b) => down(config, b));
    expect(r.cgroups).toEqual([{ profile: 'mine', path: dir, action: 'removed' }]);
    expect(existsSync(dir)).toBe(false);
    mkdirSync(join(root, cfg.cgroupParent), { recursive: true }); // so afterAll's cleanup check has something to remove
  });
});

function readFileLines(path: string): string[] {
  try {
    return execFileSync('cat', [path], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
