// Issue 2, scenarios 3-5, with real packets: a config is applied to a throwaway
// "host" namespace through the CLI (netlink backend), then the same probes run as a
// profile member (`netcg run PROFILE -- …`) and as an outsider (plain nsenter).
// The outsider's result is the control: it shows what the member would get without
// netcg, so each assertion proves the ruleset changed the member's traffic.
import { afterAll, beforeAll, expect } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import { member, outsider, startBench, type Bench, type Launcher } from '../helpers/bench.js';
import { trafficScenarios } from './scenarios.js';

let bench: Bench;
let unlocator: Launcher;
let vpn: Launcher;
let plain: Launcher;

beforeAll(async () => {
  bench = await startBench('nce');
  cliOk(['apply', '-c', bench.configFile, '--netns', bench.topo.host.path]);
  unlocator = member(bench.topo.host, bench.configFile, 'unlocator');
  vpn = member(bench.topo.host, bench.configFile, 'vpn');
  plain = outsider(bench.topo.host);
});

afterAll(async () => {
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

trafficScenarios(() => ({ unlocator, vpn, plain }));
