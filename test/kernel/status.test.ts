// netcg status against the kernel: the real bench (throwaway namespaces, resolvers),
// the config applied through the CLI, members started with `netcg run`. Counters
// must move when a member sends traffic, members be counted, and drift made by hand
// be flagged on the profile it concerns.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { StatusSnapshot } from '../../src/status/index.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { member, resolve, startBench, type Bench } from '../helpers/bench.js';

let bench: Bench;
let sleeper: ChildProcess | undefined;

function status(): StatusSnapshot {
  return JSON.parse(
    cliOk(['status', '-c', bench.configFile, '--netns', bench.topo.host.path, '--json']).stdout,
  ) as StatusSnapshot;
}

beforeAll(async () => {
  bench = await startBench('ncs');
  cliOk(['apply', '-c', bench.configFile, '--netns', bench.topo.host.path]);
}, 60_000);

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

describe('netcg status (kernel)', () => {
  it('shows each profile, its match, features and an in-sync table', () => {
    const s = status();
    expect(s.version).toBe(1);
    expect(s.inSync).toBe(true);
    expect(s.table).toEqual({ family: 'inet', name: bench.names.table, exists: true });
    const byName = Object.fromEntries(s.profiles.map((p) => [p.name, p]));
    expect(byName.unlocator!.match).toMatchObject({ kind: 'net_cls', classid: 42 });
    expect(byName.unlocator!.features).toEqual({ dns: { redirect: 5354 }, ipv6: 'reject' });
    expect(byName.unlocator!.rules.map((r) => r.rule)).toEqual([
      'udp dport 53 redirect to :5354',
      'tcp dport 53 redirect to :5354',
      'reject',
    ]);
    expect(byName.vpn!.features.route).toMatchObject({ via: 'tun0', table: 43, mark: 43, link: 'up' });
    expect(s.shared.rules.map((r) => r.chain)).toContain('nat_output');
  });

  it("counts a member and the member's DNS packets move the profile's counters", async () => {
    const before = status().profiles.find((p) => p.name === 'unlocator')!;
    const [cmd, ...args] = member(bench.topo.host, bench.configFile, 'unlocator')(['sleep', '30']);
    sleeper = spawn(cmd!, args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    let members = 0;
    while (Date.now() < deadline && members === 0) {
      await new Promise((r) => setTimeout(r, 100));
      members = status().profiles.find((p) => p.name === 'unlocator')!.members;
    }
    expect(members).toBe(before.members + 1);

    for (let i = 0; i < 3; i++)
      expect(
        resolve(member(bench.topo.host, bench.configFile, 'unlocator'), { server: '127.0.0.1' }).answer,
      ).not.toBe('');
    const after = status().profiles.find((p) => p.name === 'unlocator')!;
    const udp = (p: typeof after) => p.rules.find((r) => r.rule.startsWith('udp dport 53'))!;
    expect(udp(after).packets - udp(before).packets).toBeGreaterThanOrEqual(3);
    expect(udp(after).bytes).toBeGreaterThan(udp(before).bytes);
    expect(after.totals.packets).toBeGreaterThan(before.totals.packets);
    // The other profile's rules saw none of it.
    const vpn = (s: StatusSnapshot) => s.profiles.find((p) => p.name === 'vpn')!.totals.packets;
    expect(vpn(status())).toBe(0);
  });

  it('flags a rule deleted by hand on its profile, like netcg diff, and the human screen says DRIFT', () => {
    const listing = bench.topo.host.nft('-a', 'list', 'chain', 'inet', bench.names.table, 'route_vpn');
    const handle = /# handle (\d+)/.exec(
      listing.split('\n').find((l) => l.includes('meta mark set')) ?? '',
    )![1]!;
    bench.topo.host.nft('delete', 'rule', 'inet', bench.names.table, 'route_vpn', 'handle', handle);
    const s = status();
    expect(s.inSync).toBe(false);
    expect(s.profiles.find((p) => p.name === 'vpn')!.drift).toEqual([
      expect.stringMatching(/^\+ rule route_vpn: counter meta mark set 0x[0-9a-f]{8} ct mark set meta mark$/),
    ]);
    expect(s.profiles.find((p) => p.name === 'unlocator')!.drift).toEqual([]);
    const text = runCli(['status', '-c', bench.configFile, '--netns', bench.topo.host.path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('DRIFT');
    expect(text.stdout).toMatch(/! \+ rule route_vpn: counter meta mark set/);
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    cliOk(['apply', '-c', bench.configFile, '--netns', bench.topo.host.path]);
    expect(status().inSync).toBe(true);
  });
});
