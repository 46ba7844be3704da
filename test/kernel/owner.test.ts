// `owner:` lets one user enroll processes without root, as the recipe's
// `chown md: tasks` does — and nobody else. Tested as real unprivileged users.
import { spawnSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findNetCls } from '../../src/cgroups/netcls.js';
import { cliOk } from '../helpers/cli.js';
import { cliForOtherUsers, type UserCli } from '../helpers/cli-for-users.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
let cfg: TempConfig;
let userCli: UserCli;

beforeAll(() => {
  userCli = cliForOtherUsers();
  ns = createNetns('ncow');
  cfg = tempConfig(
    'profiles:\n  mine:\n    classid: 0x00ee0001\n    owner: nobody\n    ipv6: reject\n',
    'ncow',
  );
  chmodSync(dirname(cfg.file), 0o755); // the unprivileged users must be able to read the config
  cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
});
afterAll(() => {
  try {
    ns?.remove();
    cfg?.remove();
  } finally {
    userCli?.remove();
  }
});

/** Runs `netcg run mine -- cat /proc/self/cgroup` as `user`. */
function runAs(user: string) {
  return spawnSync(
    'setpriv',
    [
      `--reuid=${user}`,
      `--regid=${user === 'nobody' ? 'nogroup' : user}`,
      '--clear-groups',
      process.execPath,
      userCli.cli,
      'run',
      '-c',
      cfg.file,
      'mine',
      '--',
      'cat',
      '/proc/self/cgroup',
    ],
    { encoding: 'utf8' },
  );
}

describe('profile owner', () => {
  it("apply chowns the cgroup's tasks and cgroup.procs to the owner, and nothing is world-writable", () => {
    const dir = join(findNetCls()!, cfg.cgroupParent, 'mine');
    for (const f of ['tasks', 'cgroup.procs']) {
      const st = statSync(join(dir, f));
      expect(st.uid).toBe(65534);
      expect(st.mode & 0o002).toBe(0);
    }
    expect(statSync(dir).mode & 0o002).toBe(0);
  });

  it('the owner may run a program inside the profile without root', () => {
    const r = runAs('nobody');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`:net_cls[^:]*:/${cfg.cgroupParent}/mine$`, 'm'));
  });

  it('another unprivileged user is refused with a clear error', () => {
    const r = runAs('daemon');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'netcg: error: profile mine belongs to nobody: only nobody and root may move processes into it\n',
    );
  });
});
