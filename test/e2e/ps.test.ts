// `netcg ps`: the members of each profile, as the recipe's systemd-cgls look.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk, NETCG_CLI, runCli } from '../helpers/cli.js';
import { seedText, tempConfig, type TempConfig } from '../helpers/config.js';
import { buildTopology, type Topology } from '../helpers/topology.js';

let topo: Topology;
let cfg: TempConfig;
let member: ChildProcess | undefined;

beforeAll(async () => {
  topo = buildTopology('ncp');
  cfg = tempConfig(seedText(), 'ncp');
  cliOk(['apply', '-c', cfg.file, '--netns', topo.host.path]);
  member = spawn(process.execPath, [NETCG_CLI, 'run', '-c', cfg.file, 'unlocator', '--', 'sleep', '60'], {
    stdio: 'ignore',
  });
  // `run` execs, so the member's pid is the child's pid; wait until it is inside the cgroup.
  for (let i = 0; i < 100; i++) {
    const r = runCli(['ps', '-c', cfg.file, 'unlocator', '--json']);
    if (JSON.parse(r.stdout).profiles[0].members.length > 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
});

afterAll(() => {
  member?.kill('SIGKILL');
  topo?.remove();
  // give the killed member a moment to leave the cgroup before it is removed
  return new Promise<void>((res) =>
    setTimeout(() => {
      cfg?.remove();
      res();
    }, 200),
  );
});

describe('netcg ps', () => {
  it("lists a member started with netcg run: its pid (the same as the launcher's), user and command line", () => {
    const out = JSON.parse(cliOk(['ps', '-c', cfg.file, '--json']).stdout);
    const unlocator = out.profiles.find((p: { profile: string }) => p.profile === 'unlocator');
    expect(unlocator.classid).toBe(42);
    expect(unlocator.members).toEqual([{ pid: member!.pid, uid: 0, user: 'root', command: 'sleep 60' }]);
    const vpn = out.profiles.find((p: { profile: string }) => p.profile === 'vpn');
    expect(vpn.members).toEqual([]);
  });

  it('prints a readable table', () => {
    const text = cliOk(['ps', '-c', cfg.file, 'unlocator']).stdout;
    expect(text).toMatch(/^unlocator classid 42 .* 1 member\(s\)$/m);
    expect(text).toMatch(new RegExp(`^\\s+${member!.pid}\\s+root\\s+sleep 60$`, 'm'));
  });

  it('an unknown profile is an error naming the known ones', () => {
    const r = runCli(['ps', '-c', cfg.file, 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no profile named 'nosuch'.*unlocator, vpn/);
  });
});
