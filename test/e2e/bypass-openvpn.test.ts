// Issue 11, "Bypass through a gateway", with a real OpenVPN tunnel. A static-key
// point-to-point OpenVPN client in the "host" namespace holds the default route with
// `redirect-gateway def1` (0.0.0.0/1 and 128.0.0.0/1 via tun0, ::/3 and 2000::/4 for
// IPv6), its server runs in a namespace of its own behind the LAN router; the far
// echo server lives on the router and answers with the source address it saw:
//
//   host:lan0 198.18.0.1 2001:db8::1  <->  router:eth0 198.18.0.2 (and .3) 2001:db8::2
//   router:eth1 198.18.2.1 2001:db8:2::1 <-> vpn:eth0 198.18.2.2 2001:db8:2::2 (openvpn server)
//   tunnel: host:tun0 198.18.9.2 2001:db8:9::2 <-> vpn:tun0 198.18.9.1 2001:db8:9::1
//   router:lo 198.51.100.100 2001:db8:ff::100 (far echo server)
//
// Through the LAN a packet arrives from 198.18.0.1 (members are masqueraded to lan0's
// address); through the VPN from 198.18.9.2 (the server forwards without NAT). The host
// namespace has strict rp_filter. Profiles: one net_cls, one cgroup v2, both
// `route: { via: lan0, gateway: auto }`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk, NETCG_CLI, runCli } from '../helpers/cli.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';
import { echo, member, outsider, type Launcher } from '../helpers/bench.js';
import { DaemonSet } from '../testbed/daemons.js';
import { removeCgroupParent } from '../testbed/cgroups.js';

const PORT = 7007;
const FAR = { v4: '198.51.100.100', v6: '2001:db8:ff::100' } as const;
const LAN = { v4: '198.18.0.1', v6: '2001:db8::1' } as const;
const TUN = { v4: '198.18.9.2', v6: '2001:db8:9::2' } as const;
const ROUTER = { v4: '198.18.0.2', v4b: '198.18.0.3', v6: '2001:db8::2' } as const;
const SERVER = '198.18.2.2';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it gives a value; `what` (a function: evaluated on failure, with the output by then). */
async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | false,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(50);
  }
}

/** A long-running process in a namespace (nsenter execs: the pid is the program's), with its output kept. */
interface Proc {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

function startIn(ns: Netns, argv: string[]): Proc {
  const child = spawn('nsenter', [`--net=${ns.path}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exit, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}

const made: Netns[] = [];
const procs: Proc[] = [];
const daemons = new DaemonSet();
let host: Netns;
let router: Netns;
let vpn: Netns;
let dir: string;
let configFile: string;
let names: { table: string; cgroupParent: string };
let plain: Launcher;
let members: Record<'net_cls' | 'cgroupv2', Launcher>;
let fixed: Launcher;

function veth(a: Netns, aDev: string, b: Netns, bDev: string): void {
  a.ip('link', 'add', aDev, 'type', 'veth', 'peer', 'name', bDev, 'netns', b.name);
  a.ip('link', 'set', aDev, 'up');
  b.ip('link', 'set', bDev, 'up');
}

function buildTopology(): void {
  for (const p of ['bph', 'bpr', 'bpv']) made.push(createNetns(p));
  [host, router, vpn] = made as [Netns, Netns, Netns];
  const quiet = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' };
  for (const ns of made) ns.sysctl(quiet);
  // Strict reverse-path filtering on the host: members' replies pass only through netcg's mark.
  host.sysctl({ 'net.ipv4.conf.all.rp_filter': '1', 'net.ipv4.conf.default.rp_filter': '1' });
  for (const ns of [router, vpn])
    ns.sysctl({
      'net.ipv4.conf.all.rp_filter': '0',
      'net.ipv4.conf.default.rp_filter': '0',
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
    });
  veth(host, 'lan0', router, 'eth0');
  host.ip('addr', 'add', `${LAN.v4}/24`, 'dev', 'lan0');
  host.ip('-6', 'addr', 'add', `${LAN.v6}/64`, 'dev', 'lan0', 'nodad');
  router.ip('addr', 'add', `${ROUTER.v4}/24`, 'dev', 'eth0');
  router.ip('addr', 'add', `${ROUTER.v4b}/24`, 'dev', 'eth0');
  router.ip('-6', 'addr', 'add', `${ROUTER.v6}/64`, 'dev', 'eth0', 'nodad');
  veth(router, 'eth1', vpn, 'eth0');
  router.ip('addr', 'add', '198.18.2.1/24', 'dev', 'eth1');
  router.ip('-6', 'addr', 'add', '2001:db8:2::1/64', 'dev', 'eth1', 'nodad');
  vpn.ip('addr', 'add', `${SERVER}/24`, 'dev', 'eth0');
  vpn.ip('-6', 'addr', 'add', '2001:db8:2::2/64', 'dev', 'eth0', 'nodad');
  vpn.ip('route', 'add', 'default', 'via', '198.18.2.1');
  vpn.ip('-6', 'route', 'add', 'default', 'via', '2001:db8:2::1');
  router.ip('addr', 'add', `${FAR.v4}/32`, 'dev', 'lo');
  router.ip('-6', 'addr', 'add', `${FAR.v6}/128`, 'dev', 'lo', 'nodad');
  // The tunnel's addresses are behind the vpn server.
  router.ip('route', 'add', '198.18.9.0/24', 'via', SERVER);
  router.ip('-6', 'route', 'add', '2001:db8:9::/64', 'via', '2001:db8:2::2');
  host.ip('route', 'add', 'default', 'via', ROUTER.v4, 'dev', 'lan0');
  host.ip('-6', 'route', 'add', 'default', 'via', ROUTER.v6, 'dev', 'lan0');
}

const OPENVPN_COMMON = [
  'openvpn',
  '--dev',
  'tun0',
  '--dev-type',
  'tun',
  '--proto',
  'udp',
  '--port',
  '1194',
  '--cipher',
  'AES-256-CBC',
  '--auth',
  'SHA256',
  '--disable-dco',
  '--ping',
  '1',
  '--verb',
  '3',
];

async function startOpenVpn(): Promise<void> {
  const key = join(dir, 'static.key');
  // The static key (openvpn --genkey secret FILE) made by openvpn itself.
  host.run('openvpn', ['--genkey', 'secret', key]);
  const server = startIn(vpn, [
    ...OPENVPN_COMMON,
    '--secret',
    key,
    '--local',
    SERVER,
    '--ifconfig',
    '198.18.9.1',
    TUN.v4,
    '--ifconfig-ipv6',
    '2001:db8:9::1/64',
    TUN.v6,
  ]);
  procs.push(server);
  const client = startIn(host, [
    ...OPENVPN_COMMON,
    '--secret',
    key,
    '--remote',
    SERVER,
    '--nobind',
    '--ifconfig',
    TUN.v4,
    '198.18.9.1',
    '--ifconfig-ipv6',
    `${TUN.v6}/64`,
    '2001:db8:9::1',
    '--redirect-gateway',
    'def1',
    'ipv6',
  ]);
  procs.push(client);
  for (const [name, p] of [
    ['server', server],
    ['client', client],
  ] as const)
    await until(
      () => `the openvpn ${name} to complete its initialization:\n${p.output()}`,
      () => {
        if (p.child.exitCode !== null) throw new Error(`openvpn ${name} exited:\n${p.output()}`);
        return p.output().includes('Initialization Sequence Completed');
      },
    );
}

/** A counting table of our own at the router's input hook: what reached the far server, by source. */
function addCounters(): void {
  router.run(
    'nft',
    ['-f', '-'],
    `add table inet bpcount
add chain inet bpcount in { type filter hook input priority 0; policy accept; }
add rule inet bpcount in ip saddr ${LAN.v4} ip daddr ${FAR.v4} counter comment "lan"
add rule inet bpcount in ip saddr ${TUN.v4} ip daddr ${FAR.v4} counter comment "vpn"
add rule inet bpcount in ip6 saddr ${LAN.v6} ip6 daddr ${FAR.v6} counter comment "lan6"
add rule inet bpcount in ip6 saddr ${TUN.v6} ip6 daddr ${FAR.v6} counter comment "vpn6"
`,
  );
}

function count(name: string): number {
  const text = router.nft('list', 'chain', 'inet', 'bpcount', 'in');
  const m = new RegExp(`counter packets (\\d+) bytes \\d+ comment "${name}"`).exec(text);
  if (!m) throw new Error(`no counter ${name} in\n${text}`);
  return Number(m[1]);
}

const counts = () => ({ lan: count('lan'), vpn: count('vpn'), lan6: count('lan6'), vpn6: count('vpn6') });

function writeConfig(): void {
  configFile = join(dir, 'netcg.yaml');
  writeFileSync(
    configFile,
    `table: ${names.table}
cgroupParent: ${names.cgroupParent}
profiles:
  bypass:
    classid: 61
    route: { via: lan0, gateway: auto }
  bypass2:
    match: cgroupv2
    route: { via: lan0, gateway: auto }
  fixed:
    classid: 63
    route: { via: lan0, gateway: ${ROUTER.v4}, gateway6: ${ROUTER.v6} }
`,
  );
}

const netnsArgs = () => ['-c', configFile, '--netns', host.path];
const defaults = (table: number | string, family: 4 | 6 = 4) =>
  host.ip(`-${family}`, 'route', 'show', 'table', String(table), 'default');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netcg-bypass-'));
  names = { table: uniqueName('bpt'), cgroupParent: uniqueName('bpcg') };
  buildTopology();
  await daemons.echo(router, 'far', PORT);
  addCounters();
  await startOpenVpn();
  writeConfig();
  plain = outsider(host);
  members = {
    net_cls: member(host, configFile, 'bypass'),
    cgroupv2: member(host, configFile, 'bypass2'),
  };
  fixed = member(host, configFile, 'fixed');
});

afterAll(async () => {
  for (const p of procs.splice(0)) await p.stop();
  await daemons.stopAll();
  try {
    if (configFile) runCli(['down', ...netnsArgs()]);
  } finally {
    for (const ns of made.splice(0)) ns.remove();
    if (names) removeCgroupParent(names.cgroupParent);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe('bypass through the LAN gateway while OpenVPN holds the default route', () => {
  it('the tunnel is up: def1 halves via tun0 in main, the LAN default route kept', () => {
    const main = host.ip('-4', 'route', 'show', 'table', 'main');
    expect(main).toMatch(/^0\.0\.0\.0\/1 via 198\.18\.9\.1 dev tun0/m);
    expect(main).toMatch(/^128\.0\.0\.0\/1 via 198\.18\.9\.1 dev tun0/m);
    expect(main).toMatch(/^default via 198\.18\.0\.2 dev lan0/m);
    expect(host.ip('-6', 'route', 'show', 'table', 'main')).toMatch(/^2000::\/4 .*dev tun0/m);
  });

  it('before netcg: a plain process reaches the far server through the VPN (seen from the tunnel address)', () => {
    expect(echo(plain, 'tcp', FAR.v4, PORT)).toMatchObject({ gateway: 'far', source: TUN.v4 });
    expect(echo(plain, 'tcp', FAR.v6, PORT)).toMatchObject({ gateway: 'far', source: TUN.v6 });
  });

  it('diff shows the resolved next hop; apply installs it; a second diff is empty', () => {
    const plan = runCli(['diff', ...netnsArgs()]);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toContain(
      `+ route 0.0.0.0/0 table 61: default via ${ROUTER.v4} dev lan0 proto 110\n`,
    );
    expect(plan.stdout).toContain(`+ route ::/0 table 61: default via ${ROUTER.v6} dev lan0 proto 110\n`);
    cliOk(['apply', ...netnsArgs()]);
    expect(defaults(61)).toMatch(
      new RegExp(`^default via ${ROUTER.v4.replace(/\./g, '\\.')} dev lan0 proto 110`, 'm'),
    );
    expect(defaults(61, 6)).toContain(`default via ${ROUTER.v6} dev lan0 proto 110`);
    expect(runCli(['diff', ...netnsArgs()]).code).toBe(0);
  });

  for (const kind of ['net_cls', 'cgroupv2'] as const) {
    it(`a ${kind} member leaves through the LAN (the far server sees lan0's address), TCP and UDP, IPv4 and IPv6`, () => {
      const before = counts();
      for (const proto of ['tcp', 'udp'] as const) {
        const r4 = echo(members[kind], proto, FAR.v4, PORT);
        expect(r4, r4.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
        const r6 = echo(members[kind], proto, FAR.v6, PORT);
        expect(r6, r6.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v6 });
      }
      const after = counts();
      expect(after.lan).toBeGreaterThan(before.lan);
      expect(after.lan6).toBeGreaterThan(before.lan6);
      expect(after.vpn).toBe(before.vpn);
      expect(after.vpn6).toBe(before.vpn6);
    });
  }

  it('a non-member still goes through the VPN', () => {
    expect(echo(plain, 'udp', FAR.v4, PORT)).toMatchObject({ gateway: 'far', source: TUN.v4 });
    expect(echo(plain, 'tcp', FAR.v6, PORT)).toMatchObject({ gateway: 'far', source: TUN.v6 });
  });

  it('status and export show the gateway', () => {
    const status = JSON.parse(cliOk(['status', ...netnsArgs(), '--json']).stdout) as {
      profiles: Array<{ name: string; features: { route?: Record<string, unknown> } }>;
    };
    const route = status.profiles.find((p) => p.name === 'bypass')!.features.route!;
    expect(route.gateway).toEqual({ configured: 'auto', current: ROUTER.v4 });
    expect(route.gateway6).toEqual({ configured: 'auto', current: ROUTER.v6 });
    const sh = cliOk(['export', '--format', 'sh', ...netnsArgs()]).stdout;
    expect(sh).toContain(`default via ${ROUTER.v4} dev lan0 table 61`);
    const nft = cliOk(['export', '--format', 'nft', ...netnsArgs()]).stdout;
    expect(nft).toContain(`via ${ROUTER.v4}`);
  });
});

describe('netcg watch follows the gateway', () => {
  let watch: Proc;

  beforeAll(async () => {
    watch = startIn(host, [process.execPath, NETCG_CLI, 'watch', '-c', configFile, '--json']);
    procs.push(watch);
    // Ready once it has applied at start (the monitor listens from before that apply).
    await until(
      () => `netcg watch to start:\n${watch.output()}`,
      () => {
        if (watch.child.exitCode !== null) throw new Error(`netcg watch exited:\n${watch.output()}`);
        return watch.output().includes('"event":"apply"');
      },
    );
  });

  it('the main default route moves to another router address: the table follows, members use it', async () => {
    host.ip('route', 'replace', 'default', 'via', ROUTER.v4b, 'dev', 'lan0');
    await until(
      () => `table 61 to follow:\n${watch.output()}`,
      () => defaults(61).includes(`via ${ROUTER.v4b} dev lan0`),
    );
    expect(host.ip('route', 'get', FAR.v4, 'mark', '61')).toContain(`via ${ROUTER.v4b} dev lan0`);
    for (const kind of ['net_cls', 'cgroupv2'] as const) {
      const r = echo(members[kind], 'tcp', FAR.v4, PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
    }
  });

  it('with the LAN gateway gone, members get unreachable at once, never the VPN; non-members keep the VPN', async () => {
    host.ip('-4', 'route', 'del', 'default', 'dev', 'lan0');
    host.ip('-6', 'route', 'del', 'default', 'dev', 'lan0');
    await until(
      () => `the gateway routes to leave table 61:\n${watch.output()}`,
      () => {
        const v4 = defaults(61);
        const v6 = defaults(61, 6);
        return (
          !v4.includes('via') &&
          !v6.includes('via') &&
          v4.includes('unreachable') &&
          v6.includes('unreachable')
        );
      },
    );
    const before = counts();
    for (const kind of ['net_cls', 'cgroupv2'] as const)
      for (const addr of [FAR.v4, FAR.v6]) {
        // UDP: the send itself fails (the kernel's answer, not a timeout).
        const udp = echo(members[kind], 'udp', addr, PORT);
        expect(udp.error, udp.outcome.stdout).toMatch(/^(EHOSTUNREACH|ENETUNREACH)$/);
        const tcp = echo(members[kind], 'tcp', addr, PORT);
        expect(tcp.gateway, tcp.outcome.stdout).toBeUndefined();
      }
    expect(counts()).toEqual(before);
    expect(echo(plain, 'tcp', FAR.v4, PORT)).toMatchObject({ gateway: 'far', source: TUN.v4 });
    const doctor = runCli(['doctor', ...netnsArgs()]);
    expect(doctor.stdout).toMatch(/gateway auto finds no IPv4 default route on lan0/);
  });

  it('the gateway comes back (DHCP renews): members leave through the LAN again', async () => {
    host.ip('route', 'add', 'default', 'via', ROUTER.v4, 'dev', 'lan0');
    host.ip('-6', 'route', 'add', 'default', 'via', ROUTER.v6, 'dev', 'lan0');
    await until(
      () => `table 61 to get its gateway back:\n${watch.output()}`,
      () => defaults(61).includes(`via ${ROUTER.v4} dev lan0`),
    );
    await until('the IPv6 gateway', () => defaults(61, 6).includes(`via ${ROUTER.v6} dev lan0`));
    const r = echo(members.net_cls, 'udp', FAR.v4, PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
  });

  it('a fixed gateway with lan0 down: unreachable, and watch does not fight the kernel; lan0 up: back', async () => {
    const r = echo(fixed, 'udp', FAR.v4, PORT);
    expect(r, r.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
    const errorsBefore = watch.output().split('"event":"error"').length;
    host.ip('link', 'set', 'lan0', 'down');
    await until('the kernel to drop the gateway route of table 63', () => !defaults(63).includes('via'));
    // The kernel removed what netcg would remove (the gateway and link routes): the watch
    // daemon's repair after its trigger (link down) plans nothing, and logs nothing.
    await sleep(1500);
    const down = echo(fixed, 'udp', FAR.v4, PORT);
    expect(down.error, down.outcome.stdout).toMatch(/^(EHOSTUNREACH|ENETUNREACH)$/);
    expect(defaults(63)).toContain('unreachable default');
    expect(watch.output().split('"event":"error"').length, watch.output()).toBe(errorsBefore);
    host.ip('link', 'set', 'lan0', 'up');
    // The kernel flushed main's default routes and lan0's IPv6 address with the link;
    // DHCP and SLAAC would add them back.
    host.ip('-6', 'addr', 'replace', `${LAN.v6}/64`, 'dev', 'lan0', 'nodad');
    host.ip('route', 'replace', 'default', 'via', ROUTER.v4, 'dev', 'lan0');
    host.ip('-6', 'route', 'replace', 'default', 'via', ROUTER.v6, 'dev', 'lan0');
    await until(
      () => `table 63 to get its gateway back:\n${watch.output()}`,
      () => defaults(63).includes(`via ${ROUTER.v4} dev lan0`),
    );
    await until('table 61 too', () => defaults(61).includes(`via ${ROUTER.v4} dev lan0`));
    await until('table 63 IPv6', () => defaults(63, 6).includes(`via ${ROUTER.v6} dev lan0`));
    const back = echo(fixed, 'tcp', FAR.v4, PORT);
    expect(back, back.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
  });
});

describe('the same VPN with wg-quick-style fwmark rules instead of def1 routes', () => {
  beforeAll(() => {
    // What wg-quick does for its own table: the VPN's default route in table 51820,
    // `not fwmark 0xca6c lookup 51820` (32765) and `lookup main suppress_prefixlength 0`
    // (32764); main keeps its default route.
    for (const dst of ['0.0.0.0/1', '128.0.0.0/1']) host.ip('-4', 'route', 'del', dst, 'dev', 'tun0');
    // The tunnel's own packets to its server keep their host route (flushed with lan0 above).
    host.ip('-4', 'route', 'replace', `${SERVER}/32`, 'via', ROUTER.v4, 'dev', 'lan0');
    host.ip('-4', 'route', 'add', 'default', 'via', '198.18.9.1', 'dev', 'tun0', 'table', '51820');
    host.ip('-4', 'rule', 'add', 'not', 'fwmark', '0xca6c', 'table', '51820', 'priority', '32765');
    host.ip('-4', 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0', 'priority', '32764');
  });

  it('members leave through the LAN, non-members through the VPN; doctor finds no rule before netcg’s', () => {
    expect(host.ip('-4', 'route', 'show', 'table', 'main')).not.toMatch(/^(0|128)\.0\.0\.0\/1 /m);
    expect(echo(plain, 'tcp', FAR.v4, PORT)).toMatchObject({ gateway: 'far', source: TUN.v4 });
    for (const launcher of [members.net_cls, members.cgroupv2, fixed]) {
      const r = echo(launcher, 'udp', FAR.v4, PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'far', source: LAN.v4 });
    }
    const doctor = runCli(['doctor', ...netnsArgs()]).stdout;
    expect(doctor).toMatch(/ok\s+ip rules: no foreign ip rule comes before netcg's \(priority 10000\)/);
  });
});
