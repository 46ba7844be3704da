// Issue 2, scenario 6: `netcg down` removes exactly what netcg created (its table,
// its proto-110 ip rules and routes, its profile cgroups) and leaves foreign state
// made beforehand byte-for-byte unchanged, including look-alikes: an `ip` table with
// netcg's table name, an ip rule with netcg's fwmark and table, a route in netcg's
// routing table.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk, runCli } from '../helpers/cli.js';
import { PROFILES, profileCgroupDir, startBench, type Bench } from '../helpers/bench.js';
import { uniqueName } from '../helpers/netns.js';
import { LAN } from '../helpers/topology.js';

let bench: Bench;
const foreignTable = uniqueName('foreign');

/** Everything down must restore, as text. */
function snapshot(b: Bench) {
  const { host } = b.topo;
  return {
    ruleset: host.nft('list', 'ruleset'),
    rules4: host.ip('-4', 'rule', 'show'),
    rules6: host.ip('-6', 'rule', 'show'),
    routes4: host.ip('-4', 'route', 'show', 'table', 'all'),
    routes6: host.ip('-6', 'route', 'show', 'table', 'all'),
  };
}

let before: ReturnType<typeof snapshot>;
let applied: ReturnType<typeof snapshot>;
let after: ReturnType<typeof snapshot>;
const vpnTable = String(PROFILES.vpn.table);

beforeAll(async () => {
  bench = await startBench('ncd');
  const { host } = bench.topo;
  host.run(
    'nft',
    ['-f', '-'],
    `
table inet ${foreignTable} {
  set blocked { type ipv4_addr; elements = { 198.51.100.9 }; }
  chain out {
    type filter hook output priority 10; policy accept;
    ip daddr @blocked counter drop
  }
}
table ip ${bench.names.table} {
  chain out {
    type filter hook output priority 20; policy accept;
    tcp dport 9 counter drop
  }
}
`,
  );
  host.ip('-4', 'rule', 'add', 'fwmark', '0x2b', 'lookup', vpnTable, 'priority', '10001');
  host.ip('-6', 'rule', 'add', 'from', '2001:db8::/64', 'lookup', '99', 'priority', '9000');
  host.ip('-4', 'route', 'add', '198.51.100.0/24', 'via', LAN.gatewayV4, 'table', vpnTable);
  before = snapshot(bench);
  cliOk(['apply', '-c', bench.configFile, '--netns', host.path]);
  applied = snapshot(bench);
  cliOk(['down', '-c', bench.configFile, '--netns', host.path]);
  after = snapshot(bench);
});

afterAll(async () => {
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

describe('netcg down (scenario 6)', () => {
  it('apply really installed netcg state (so down had something to remove)', () => {
    expect(applied.ruleset).toContain(`table inet ${bench.names.table} {`);
    expect(applied.rules4).toMatch(/fwmark 0x2b lookup 43 proto 110/);
    expect(applied.rules6).toMatch(/proto 110/);
    expect(applied.routes4).toMatch(/default dev tun0 table 43 proto 110/);
  });

  it('removes its own table, ip rules and routes', () => {
    expect(after.ruleset).not.toContain(`table inet ${bench.names.table} {`);
    for (const text of [after.rules4, after.rules6, after.routes4, after.routes6])
      expect(text).not.toMatch(/proto 110/);
  });

  it('leaves the foreign tables unchanged, byte for byte', () => {
    expect(after.ruleset).toBe(before.ruleset);
    expect(after.ruleset).toContain(`table inet ${foreignTable} {`);
    expect(after.ruleset).toContain(`table ip ${bench.names.table} {`);
  });

  it('leaves the foreign ip rules unchanged', () => {
    expect(after.rules4).toBe(before.rules4);
    expect(after.rules6).toBe(before.rules6);
    expect(after.rules4).toMatch(/10001:\s+from all fwmark 0x2b lookup 43/);
  });

  it('leaves every other route unchanged, including a foreign one in its routing table', () => {
    expect(after.routes4).toBe(before.routes4);
    expect(after.routes6).toBe(before.routes6);
    expect(after.routes4).toContain('198.51.100.0/24 via 198.18.0.2 dev lan0 table 43');
  });

  it('removes the profile cgroups', () => {
    for (const profile of Object.keys(PROFILES)) {
      const dir = profileCgroupDir(bench.names.cgroupParent, profile);
      expect(dir && existsSync(dir), dir).toBeFalsy();
    }
    const r = runCli(['run', '-c', bench.configFile, 'unlocator', '--', 'true'], { netns: bench.topo.host });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not exist/i);
  });
});
