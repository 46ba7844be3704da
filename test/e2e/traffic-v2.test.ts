// Issue 4: the foundation's traffic scenarios (issue 2, 3-5) for `match: cgroupv2`
// profiles (no classid; members matched by their cgroup2 ID with `socket cgroupv2`),
// with real packets: a config is applied to a throwaway
// "host" namespace through the CLI (netlink backend), then the same probes run as a
// profile member (`netcg run PROFILE -- …`) and as an outsider (plain nsenter).
// The outsider's result is the control: it shows what the member would get without
// netcg, so each assertion proves the ruleset changed the member's traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import {
  echo, ECHO_PORT, member, NORMAL_DNS, outsider, resolve, startBench, UNLOCATOR_DNS,
  type Bench, type Launcher,
} from '../helpers/bench.js';
import { FAR, LAN, VPN } from '../helpers/topology.js';

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
    const ps = JSON.parse(cliOk(['ps', '-c', bench.configFile, '--json']).stdout) as { profiles: Array<{ profile: string; match: string; cgroup: string }> };
    expect(ps.profiles.map((p) => [p.profile, p.match])).toEqual([['unlocator', 'cgroupv2'], ['vpn', 'cgroupv2']]);
    expect(ps.profiles[1]!.cgroup).toMatch(new RegExp(`/${bench.names.cgroupParent}/vpn$`));
  });
});

describe('DNS redirect (scenario 3)', () => {
  // 198.18.0.2 is the lan gateway: routable, but no DNS server listens there.
  const servers = { 'the local resolver 127.0.0.1': '127.0.0.1', 'another, routable address without a server': LAN.gatewayV4 };

  for (const [label, server] of Object.entries(servers)) {
    for (const tcp of [false, true]) {
      it(`a member's ${tcp ? 'TCP' : 'UDP'} query to ${label} gets the :5354 answer`, () => {
        const r = resolve(unlocator, { server, tcp });
        expect(r.answer, r.stdout + r.stderr).toBe(UNLOCATOR_DNS.answer);
      });
    }
  }

  for (const tcp of [false, true]) {
    it(`an outsider's ${tcp ? 'TCP' : 'UDP'} query to 127.0.0.1 gets the :53 answer`, () => {
      const r = resolve(plain, { server: '127.0.0.1', tcp });
      expect(r.answer, r.stdout + r.stderr).toBe(NORMAL_DNS.answer);
    });
  }

  it("an outsider's query to the server-less address is not redirected (it gets no answer)", () => {
    expect(resolve(plain, { server: LAN.gatewayV4 }).answer).toBe('');
  });

  it('a member of another profile is not redirected', () => {
    const r = resolve(vpn, { server: '127.0.0.1' });
    expect(r.answer, r.stdout + r.stderr).toBe(NORMAL_DNS.answer);
  });
});

describe('IPv6 reject (scenario 4)', () => {
  it("a member's TCP connection to a listener on [::1] fails", () => {
    const r = echo(unlocator, 'tcp', '::1', ECHO_PORT);
    expect(r.gateway, r.outcome.stdout + r.outcome.stderr).toBeUndefined();
    expect(r.error).toMatch(/^E[A-Z]+$/);
  });

  it("an outsider's TCP connection to the same listener succeeds", () => {
    const r = echo(plain, 'tcp', '::1', ECHO_PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'host', source: '::1' });
  });

  it("a member's IPv4 still works (only IPv6 is rejected)", () => {
    const r = echo(unlocator, 'tcp', '127.0.0.1', ECHO_PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'host', source: '127.0.0.1' });
  });
});

describe('VPN routing (scenario 5)', () => {
  for (const proto of ['tcp', 'udp'] as const) {
    it(`a member of vpn reaches the vpn gateway over ${proto}, seen from tun0's address`, () => {
      const r = echo(vpn, proto, FAR.v4, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV4 });
    });

    it(`an outsider reaches the lan gateway over ${proto}, from lan0's address`, () => {
      const r = echo(plain, proto, FAR.v4, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV4 });
    });
  }

  it("a member of vpn reaches the vpn gateway over IPv6 too, seen from tun0's IPv6 address", () => {
    const r = echo(vpn, 'tcp', FAR.v6, ECHO_PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV6 });
  });

  it('an outsider reaches the lan gateway over IPv6', () => {
    const r = echo(plain, 'tcp', FAR.v6, ECHO_PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV6 });
  });

  it('a member of another profile reaches lan', () => {
    const r = echo(unlocator, 'tcp', FAR.v4, ECHO_PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV4 });
  });
});
