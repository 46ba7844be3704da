// Least privilege: every state-changing command run by an unprivileged user fails
// with one line naming what it needs, and leaves the kernel as it was. Two
// throwaway users (useradd, removed in afterAll): `stranger` runs the commands,
// `owner` owns profile p. The commands run in a throwaway namespace where root
// applied the config first (nsenter as root, then setpriv drops to the user, as a
// user's shell in that namespace would be); afterwards nft's ruleset (with
// counters: the namespace is quiet), ip rules, every routing table of both
// families and the profile cgroups (owner, mode, members) are what they were.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, lstatSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk } from '../helpers/cli.js';
import { cliForOtherUsers, type UserCli } from '../helpers/cli-for-users.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { uniqueName, type Netns } from '../helpers/netns.js';
import { cgroupTree, createQuietNetns, kernelSnapshot } from '../helpers/quiet-netns.js';

let ns: Netns;
let cfg: TempConfig;
let userCli: UserCli;
const users = { stranger: uniqueName('ncs').slice(0, 30), owner: uniqueName('nco').slice(0, 30) };
const made: string[] = [];
let victim: ChildProcess | undefined;

function useradd(name: string): void {
  const r = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
  made.push(name);
}

/** The profile cgroups as a listing: path, owner, mode and members of each. */
function cgroupListing(): string {
  return cgroupTree(cfg.cgroupParent)
    .map((dir) => {
      const st = lstatSync(dir);
      const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean);
      return `${dir} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} [${procs.join(' ')}]`;
    })
    .join('\n');
}

const snapshot = () => `${kernelSnapshot(ns)}\n--\n${cgroupListing()}`;

/** `netcg ARGS` as `user`, inside the namespace. */
function asUser(user: string, args: string[], timeout = 20_000) {
  const r = spawnSync(
    'nsenter',
    [
      `--net=${ns.path}`,
      'setpriv',
      `--reuid=${user}`,
      `--regid=${user}`,
      '--clear-groups',
      process.execPath,
      userCli.cli,
      ...args,
    ],
    { encoding: 'utf8', timeout },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  useradd(users.stranger);
  useradd(users.owner);
  userCli = cliForOtherUsers();
  ns = createQuietNetns('ncup');
  cfg = tempConfig(
    [
      'profiles:',
      '  p:',
      '    match: cgroupv2',
      `    owner: ${users.owner}`,
      '    dns: { redirect: 5354 }',
      '  q:',
      '    classid: 0x00ee0042',
      '    route: { via: tun0 }',
      '    ipv6: reject',
      '',
    ].join('\n'),
    'ncup',
  );
  chmodSync(dirname(cfg.file), 0o755); // the users must be able to read the config
  cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
  victim = spawn('sleep', ['600'], { stdio: 'ignore' }); // root's process, for `enroll`
}, 60_000);

afterAll(() => {
  victim?.kill('SIGKILL');
  try {
    if (cfg && ns) spawnSync(process.execPath, [userCli.cli, 'down', '-c', cfg.file, '--netns', ns.path]);
  } finally {
    ns?.remove();
    cfg?.remove();
    userCli?.remove();
    for (const u of made) spawnSync('userdel', [u]);
  }
});

describe('an unprivileged user changes nothing, and is told what is needed', () => {
  const cases: Array<[string, () => string[], string, string]> = [
    [
      'apply',
      () => ['apply', '-c', cfg.file],
      'stranger',
      "netcg apply changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
    ],
    [
      'apply --netns',
      () => ['apply', '-c', cfg.file, '--netns', ns.path],
      'stranger',
      "netcg apply changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
    ],
    [
      'down',
      () => ['down', '-c', cfg.file],
      'stranger',
      "netcg down changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
    ],
    [
      'watch',
      () => ['watch', '-c', cfg.file],
      'stranger',
      "netcg watch changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
    ],
    [
      "enroll (root's process, an owner-less profile)",
      () => ['enroll', '-c', cfg.file, 'q', String(victim!.pid)],
      'stranger',
      'profile q has no owner: moving processes into it needs root',
    ],
    [
      'enroll (into a profile someone else owns)',
      () => ['enroll', '-c', cfg.file, 'p', String(victim!.pid)],
      'stranger',
      `profile p belongs to ${users.owner}: only ${users.owner} and root may move processes into it`,
    ],
    [
      'run (a profile someone else owns)',
      () => ['run', '-c', cfg.file, 'p', '--', 'true'],
      'stranger',
      `profile p belongs to ${users.owner}: only ${users.owner} and root may move processes into it`,
    ],
    [
      'run (an owner-less profile)',
      () => ['run', '-c', cfg.file, 'q', '--', 'true'],
      'stranger',
      'profile q has no owner: moving processes into it needs root',
    ],
  ];

  for (const [name, args, who, message] of cases)
    it(`${name}: exit 1, "${message}"`, () => {
      const before = snapshot();
      const r = asUser(users[who as keyof typeof users], args());
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toBe(`netcg: error: ${message}\n`);
      expect(r.stdout).toBe('');
      expect(snapshot()).toBe(before);
    });

  it("enroll by the profile's owner of another user's process: that PID fails, naming the need", () => {
    const before = snapshot();
    const pid = victim!.pid!;
    const r = asUser(users.owner, ['enroll', '-c', cfg.file, 'p', String(pid)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${pid}: failed EACCES (PID ${pid} belongs to root (uid 0): moving another user's process needs root)\n`,
    );
    expect(snapshot()).toBe(before);
  });

  it('--json: the same need as a code and message', () => {
    const r = asUser(users.stranger, ['apply', '-c', cfg.file, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'EPERM',
        message: "netcg apply changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
      },
    });
  });

  it('the snapshot sees what a change would do (root adds an ip rule: it differs)', () => {
    const before = snapshot();
    ns.ip('rule', 'add', 'priority', '31000', 'lookup', 'main');
    try {
      expect(snapshot()).not.toBe(before);
    } finally {
      ns.ip('rule', 'del', 'priority', '31000', 'lookup', 'main');
    }
    expect(snapshot()).toBe(before);
  });
});
