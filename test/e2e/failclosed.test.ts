// Issue 5, "Fail closed", with real packets in the bench (host/lan/vpn namespaces,
// see test/testbed/topology.ts), strict rp_filter (1) on every interface of the host
// namespace. Every "nothing leaked" claim is an nft counter in the namespace where
// a leak would arrive, and each has a control that makes the same counter move,
// so a zero means "blocked", not "the probe never ran".
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOk } from '../helpers/cli.js';
import {
  echo,
  ECHO_PORT,
  launch,
  member,
  NORMAL_DNS,
  outsider,
  resolve,
  startBench,
  type Bench,
  type Launcher,
} from '../helpers/bench.js';
import type { Netns } from '../helpers/netns.js';
import { FAR, LAN, VPN } from '../helpers/topology.js';

const DEAD_DNS_PORT = 5399; // nothing listens here
const SINK_PORT = 9999; // the member's stream goes here; only the member sends to it

let bench: Bench;
let dir: string;
let vpnMember: Launcher;
let dnsMember: Launcher;
let plain: Launcher;

function writeConfig(failClosed?: boolean): string {
  const file = join(dir, `netcg-${failClosed ?? 'default'}.yaml`);
  writeFileSync(
    file,
    `table: ${bench.names.table}
cgroupParent: ${bench.names.cgroupParent}
profiles:
  vpn:
    classid: 43
    route: { via: ${VPN.hostDev}, table: 43${failClosed === undefined ? '' : `, failClosed: ${failClosed}`} }
  deaddns:
    classid: 44
    dns: { redirect: ${DEAD_DNS_PORT} }
    ipv6: reject
`,
  );
  return file;
}

function apply(file: string): { sysctls: Array<{ key: string; value: string; previous: string }> } {
  return JSON.parse(cliOk(['apply', '-c', file, '--netns', bench.topo.host.path, '--json']).stdout);
}

/** A counting table of our own (never netcg's) at the input hook of `ns`. */
function addCounters(ns: Netns, rules: Record<string, string>): void {
  const lines = Object.entries(rules).map(
    ([name, match]) => `add rule inet fcount in ${match} counter comment "${name}"`,
  );
  ns.run(
    'nft',
    ['-f', '-'],
    [
      'add table inet fcount',
      'add chain inet fcount in { type filter hook input priority 0; policy accept; }',
      ...lines,
      '',
    ].join('\n'),
  );
}

function count(ns: Netns, name: string): number {
  const text = ns.nft('list', 'chain', 'inet', 'fcount', 'in');
  const m = new RegExp(`counter packets (\\d+) bytes \\d+ comment "${name}"`).exec(text);
  if (!m) throw new Error(`no counter ${name} in\n${text}`);
  return Number(m[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ICMPv6 echo to `addr` through a raw socket (the bench has no ping): 'reply' or the error. */
function ping6(launcher: Launcher, addr: string): string {
  const py = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(1.5)
try:
    s.sendto(bytes([128, 0, 0, 0, 0x12, 0x34, 0, 1]) + b'netcg', (sys.argv[1], 0))
    while True:
        data, peer = s.recvfrom(2048)
        if data[0] == 129:
            print('reply'); break
except Exception as e:
    print(type(e).__name__, e)
`;
  return launch(launcher, ['python3', '-c', py, addr]).stdout.trim();
}

interface Stream {
  /** Stops the stream (SIGTERM) and gives its tally. */
  stop(): Promise<{ sent: number; failed: number }>;
}

/** The member's UDP stream: one datagram to the far address (v4 and v6) every 10 ms until stopped. */
function startStream(launcher: Launcher): Stream {
  const js = `
const dgram = require('node:dgram');
const socks = [[dgram.createSocket('udp4'), '${FAR.v4}'], [dgram.createSocket('udp6'), '${FAR.v6}']];
let sent = 0, failed = 0;
for (const [s] of socks) s.on('error', () => failed++);
const t = setInterval(() => {
  for (const [s, addr] of socks) s.send('x', ${SINK_PORT}, addr, (err) => (err ? failed++ : sent++));
}, 10);
process.on('SIGTERM', () => {
  clearInterval(t);
  setTimeout(() => { for (const [s] of socks) s.close(); console.log(JSON.stringify({ sent, failed })); }, 100);
});
`;
  const [cmd, ...args] = launcher([process.execPath, '-e', js]);
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ sent: number; failed: number }>((resolveStream, reject) => {
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`stream exited ${code}: ${err}`));
      else resolveStream(JSON.parse(out.trim().split('\n').at(-1)!));
    });
  });
  // nsenter and `netcg run` exec, so the pid is the streaming node itself.
  return { stop: () => (child.kill('SIGTERM'), done) };
}

/** Waits until `read()` is above `floor` (the stream has started flowing), at most `ms`. */
async function waitAbove(read: () => number, floor: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (read() <= floor) {
    if (Date.now() > end) throw new Error('the member stream never reached the vpn gateway');
    await sleep(50);
  }
}

/** Builds tun0 again after its deletion (which took the vpn-side peer along), as the bench does, but strict. */
function buildTun0(): void {
  const { host, vpn } = bench.topo;
  host.ip('link', 'add', VPN.hostDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vpn.name);
  host.sysctl({ [`net.ipv4.conf.${VPN.hostDev}.rp_filter`]: '1' });
  vpn.sysctl({ 'net.ipv4.conf.eth0.rp_filter': '0' });
  host.ip('addr', 'add', `${VPN.hostV4}/24`, 'dev', VPN.hostDev);
  host.ip('-6', 'addr', 'add', `${VPN.hostV6}/64`, 'dev', VPN.hostDev, 'nodad');
  vpn.ip('addr', 'add', `${VPN.gatewayV4}/24`, 'dev', 'eth0');
  vpn.ip('-6', 'addr', 'add', `${VPN.gatewayV6}/64`, 'dev', 'eth0', 'nodad');
  host.ip('link', 'set', VPN.hostDev, 'up');
  vpn.ip('link', 'set', 'eth0', 'up');
  vpn.sysctl({ 'net.ipv6.conf.eth0.proxy_ndp': '1' });
  vpn.ip('-6', 'neigh', 'add', 'proxy', FAR.v6, 'dev', 'eth0');
  vpn.ip('route', 'add', LAN.subnetV4, 'via', VPN.hostV4);
  vpn.ip('-6', 'route', 'add', LAN.subnetV6, 'via', VPN.hostV6);
}

/**
 * The member streams for ~4.5 s while tun0 goes down, comes up, is deleted and is
 * re-created; returns the datagrams the lan and vpn gateways received meanwhile.
 */
async function blinkTun0(): Promise<{ lan: number; vpn: number; stream: { sent: number; failed: number } }> {
  const { host, lan, vpn } = bench.topo;
  const before = { lan: count(lan, 'sink'), vpn: count(vpn, 'sink') };
  const stream = startStream(vpnMember);
  await waitAbove(() => count(vpn, 'sink'), before.vpn);
  await sleep(300);
  host.ip('link', 'set', VPN.hostDev, 'down');
  await sleep(800);
  host.ip('link', 'set', VPN.hostDev, 'up');
  await sleep(800);
  host.ip('link', 'del', VPN.hostDev);
  await sleep(800);
  buildTun0();
  await sleep(800);
  const result = await stream.stop();
  return { lan: count(lan, 'sink') - before.lan, vpn: count(vpn, 'sink') - before.vpn, stream: result };
}

beforeAll(async () => {
  bench = await startBench('nfc');
  dir = mkdtempSync(join(tmpdir(), 'netcg-failclosed-'));
  const { host, lan, vpn } = bench.topo;
  // Strict reverse-path filtering everywhere in the host namespace (the bench's default is 0).
  host.sysctl({
    'net.ipv4.conf.all.rp_filter': '1',
    'net.ipv4.conf.default.rp_filter': '1',
    [`net.ipv4.conf.${VPN.hostDev}.rp_filter`]: '1',
    [`net.ipv4.conf.${LAN.hostDev}.rp_filter`]: '1',
  });
  const sink = `udp dport ${SINK_PORT}`;
  addCounters(lan, {
    sink,
    dns: 'meta l4proto { tcp, udp } th dport 53',
    v6echo: `ip6 saddr ${LAN.hostV6} meta l4proto { tcp, udp } th dport ${ECHO_PORT}`,
    v6ping: `ip6 saddr ${LAN.hostV6} icmpv6 type echo-request`,
  });
  addCounters(vpn, { sink });
  addCounters(host, { dns53: 'meta l4proto { tcp, udp } th dport 53' });
  vpnMember = member(host, writeConfig(), 'vpn');
  dnsMember = member(host, writeConfig(), 'deaddns');
  plain = outsider(host);
});

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

describe('strict rp_filter: connmark save/restore and src_valid_mark', () => {
  it('apply sets net.ipv4.conf.all.src_valid_mark=1 in the target namespace only, and reports it once', () => {
    const host = bench.topo.host;
    const read = () => host.run('sysctl', ['-n', 'net.ipv4.conf.all.src_valid_mark']).trim();
    const own = () => readFileSync('/proc/sys/net/ipv4/conf/all/src_valid_mark', 'utf8').trim();
    const ownBefore = own();
    expect(read()).toBe('0');
    const first = apply(writeConfig());
    expect(first.sysctls).toEqual([{ key: 'net.ipv4.conf.all.src_valid_mark', value: '1', previous: '0' }]);
    expect(read()).toBe('1');
    expect(apply(writeConfig()).sysctls).toEqual([]); // already right: nothing written, nothing reported
    // The text output says so too.
    host.sysctl({ 'net.ipv4.conf.all.src_valid_mark': '0' });
    const text = cliOk(['apply', '-c', writeConfig(), '--netns', host.path]).stdout;
    expect(text).toContain('sysctl net.ipv4.conf.all.src_valid_mark = 1 (was 0)');
    // The test runner's own namespace is untouched (apply only wrote inside host).
    expect(own()).toBe(ownBefore);
  });

  for (const proto of ['tcp', 'udp'] as const) {
    it(`a vpn member's ${proto} replies pass rp_filter=1 on tun0 (masqueraded to tun0's address)`, () => {
      const r = echo(vpnMember, proto, FAR.v4, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV4 });
    });
  }

  it('control: without the connmark restore rule the same replies die in rp_filter; apply repairs it', () => {
    const host = bench.topo.host;
    host.nft('flush', 'chain', 'inet', bench.names.table, 'filter_prerouting');
    const r = echo(vpnMember, 'tcp', FAR.v4, ECHO_PORT);
    expect(r.gateway, r.outcome.stdout).toBeUndefined();
    apply(writeConfig());
    const again = echo(vpnMember, 'tcp', FAR.v4, ECHO_PORT);
    expect(again, again.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV4 });
  });
});

describe('resolver down: dns.redirect to a port nothing listens on', () => {
  const servers = {
    '127.0.0.1 (where dnsmasq listens on :53)': '127.0.0.1',
    'the lan gateway': LAN.gatewayV4,
  };
  for (const [label, server] of Object.entries(servers)) {
    for (const tcp of [false, true]) {
      it(`a member's ${tcp ? 'TCP' : 'UDP'} query to ${label} fails and never reaches port 53`, () => {
        const before = { host: count(bench.topo.host, 'dns53'), lan: count(bench.topo.lan, 'dns') };
        const r = resolve(dnsMember, { server, tcp });
        expect(r.answer, r.stdout).toBe('');
        expect(count(bench.topo.host, 'dns53')).toBe(before.host);
        expect(count(bench.topo.lan, 'dns')).toBe(before.lan);
      });
    }
  }

  it("control: an outsider's query reaches the :53 dnsmasq and the counter sees it", () => {
    const before = count(bench.topo.host, 'dns53');
    expect(resolve(plain, { server: '127.0.0.1' }).answer).toBe(NORMAL_DNS.answer);
    expect(count(bench.topo.host, 'dns53')).toBeGreaterThan(before);
  });
});

describe('IPv6 rejected in every form', () => {
  const targets = {
    loopback: '::1',
    'a routed address (the far address via lan)': FAR.v6,
    'the lan gateway': LAN.gatewayV6,
  };
  for (const [label, addr] of Object.entries(targets)) {
    for (const proto of ['tcp', 'udp'] as const) {
      it(`${proto.toUpperCase()} to ${label}: the member fails, nothing arrives; an outsider gets through`, () => {
        const before = count(bench.topo.lan, 'v6echo');
        const r = echo(dnsMember, proto, addr, ECHO_PORT);
        expect(r.gateway, r.outcome.stdout).toBeUndefined();
        expect(count(bench.topo.lan, 'v6echo')).toBe(before);
        const control = echo(plain, proto, addr, ECHO_PORT);
        expect(control.gateway, control.outcome.stderr).toBe(addr === '::1' ? 'host' : 'lan');
      });
    }
    it(`ICMPv6 echo to ${label}: the member gets no reply and nothing arrives; an outsider gets a reply`, () => {
      const before = count(bench.topo.lan, 'v6ping');
      expect(ping6(dnsMember, addr)).not.toBe('reply');
      expect(count(bench.topo.lan, 'v6ping')).toBe(before);
      expect(ping6(plain, addr)).toBe('reply');
      if (addr !== '::1') expect(count(bench.topo.lan, 'v6ping')).toBeGreaterThan(before);
    });
  }
});

describe('VPN kill switch (failClosed, the default)', () => {
  it('while tun0 goes down, up, is deleted and re-created, the lan gateway receives zero packets from the member', async () => {
    apply(writeConfig());
    const r = await blinkTun0();
    expect(r.stream.sent + r.stream.failed).toBeGreaterThan(200);
    expect(r.vpn, 'the stream reached the vpn gateway before the outage').toBeGreaterThan(0);
    expect(r.lan).toBe(0);
  });

  it('after the re-creation, netcg apply restores the default route and the member reaches the vpn gateway again', () => {
    expect(echo(vpnMember, 'tcp', FAR.v4, ECHO_PORT).gateway).toBeUndefined(); // still failing closed
    apply(writeConfig());
    for (const [proto, addr, source] of [
      ['tcp', FAR.v4, VPN.hostV4],
      ['udp', FAR.v4, VPN.hostV4],
      ['tcp', FAR.v6, VPN.hostV6],
    ] as const) {
      const r = echo(vpnMember, proto, addr, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source });
    }
  });

  it('control: with failClosed: false (the recipe alone) the same outage leaks to the lan gateway', async () => {
    apply(writeConfig(false));
    const r = await blinkTun0();
    expect(r.lan).toBeGreaterThan(0);
    apply(writeConfig());
  });
});
