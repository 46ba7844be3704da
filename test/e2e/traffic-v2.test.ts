// Issue 4: the foundation's traffic scenarios (issue 2, 3-5) for `match: cgroupv2`
// profiles (no classid; members matched by their cgroup2 ID with `socket cgroupv2`),
// with real packets: a config is applied to a throwaway
// "host" namespace through the CLI (netlink backend), then the same probes run as a
// profile member (`netcg run PROFILE -- …`) and as an outsider (plain nsenter).
// The outsider's result is the control: it shows what the member would get without
// netcg, so each assertion proves the ruleset changed the member's traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import { member, outsider, startBench, type Bench, type Launcher } from '../helpers/bench.js';
import { trafficScenarios } from './scenarios.js';

let bench: Bench;
let unlocator: Launcher;
let vpn: Launcher;
let plain: Launcher;
let applied: string;

beforeAll(async () => {
  bench = await startBench('ncv', 'cgroupv2');
  applied = cliOk(['apply', '-c', bench.configFile, '--netns', bench.topo.host.path]).stdout;
  unlocator = member(bench.topo.host, bench.configFile, 'unlocator');
  vpn = member(bench.topo.host, bench.configFile, 'vpn');
  plain = outsider(bench.topo.host);
});

afterAll(async () => {
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

describe('the profiles really are cgroup v2 ones', () => {
  it('apply says so, and the ruleset matches by socket cgroupv2 only', () => {
    expect(applied).toMatch(/profile unlocator: matched by cgroup v2 ID \d+ \(socket cgroupv2\)/);
    expect(applied).toMatch(/profile vpn: matched by cgroup v2 ID \d+ \(socket cgroupv2\)/);
    const table = bench.topo.host.nft('list', 'table', 'inet', bench.names.table);
    expect(table).toContain('socket cgroupv2 level 2 vmap @dns_dispatch_v2');
    expect(table).not.toContain('meta cgroup');
  });

  it('`netcg run` puts the member in the cgroup2 profile cgroup (and netcg ps shows it)', () => {
    const r = cliOk(['run', '-c', bench.configFile, 'vpn', '--', 'cat', '/proc/self/cgroup']);
    expect(r.stdout).toMatch(new RegExp(`^0::/${bench.names.cgroupParent}/vpn$`, 'm'));
    const ps = JSON.parse(cliOk(['ps', '-c', bench.configFile, '--json']).stdout) as {
      profiles: Array<{ profile: string; match: string; cgroup: string }>;
    };
    expect(ps.profiles.map((p) => [p.profile, p.match])).toEqual([
      ['unlocator', 'cgroupv2'],
      ['vpn', 'cgroupv2'],
    ]);
    expect(ps.profiles[1]!.cgroup).toMatch(new RegExp(`/${bench.names.cgroupParent}/vpn$`));
  });
});

trafficScenarios(() => ({ unlocator, vpn, plain }));
