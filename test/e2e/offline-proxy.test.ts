// Issue 11, features 2 and 3 with real packets: `network: offline` and the
// transparent `proxy` (with `udp: reject`, and the leak-free Tor-like profile), for
// net_cls and cgroup v2 profiles. A "host" namespace reaches a "far" one (which owns
// 198.51.100.7 and 2001:db8:100::7) through a veth pair; the config is applied to
// the host namespace through the CLI, members run through `netcg run`, and the
// outsider (plain nsenter) is the control that shows what a member would get
// without netcg.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { removeCgroupParent } from '../testbed/cgroups.js';
import { DaemonSet } from '../testbed/daemons.js';
import { member, outsider, type Launcher } from '../testbed/probes.js';
import { cliOk } from '../helpers/cli.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const PROBE = fileURLToPath(new URL('../fixtures/l4-probe.mjs', import.meta.url));
const PROXY = fileURLToPath(new URL('../fixtures/origdst-proxy.py', import.meta.url));
const FAR4 = '198.51.100.7';
const FAR6 = '2001:db8:100::7';
/** A far address for DNS: nothing listens on :53 there, so an answer can only come from the redirect. */
const FAR_DNS = '198.51.100.53';
const HOST_LAN = '198.18.20.1';
const ECHO = 7000;
const PROXY_PORT = 9040;
const DNS_PORT = 5354;
/**
 * How a rejected connection or datagram fails: TCP gets the reset (ECONNREFUSED); a
 * datagram rejected in the sender's output path fails its send (EPERM), and the ICMP
 * port unreachable the reject sends back makes a connected socket's next call fail.
 */
const REFUSED = /^(ECONNREFUSED|EPERM)$/;
/**
 * Issue 11: offline members fail "in under 100 ms, not by timeout". The failure's
 * kind (a reset or a refused send, never ETIMEDOUT) is the proof that nothing timed
 * out; the bound below has a wide margin for a loaded machine shared by many
 * (the measured times are printed; docs/config.md has them).
 */
const FAST_MS = 1000;

interface Probe {
  reply?: string;
  error?: string;
  ms: number;
}

function probe(launcher: Launcher, proto: 'tcp' | 'udp', host: string, port: number): Probe {
  const [cmd, ...args] = launcher([process.execPath, PROBE, proto, host, String(port)]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000 });
  const line = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`probe did not run: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line) as Probe;
}

/** `ping -c1` to `host`, timed inside the member itself (so the CLI's own start-up is not counted). */
function ping(launcher: Launcher, host: string): { ok: boolean; ms: number; output: string } {
  const script = `s=$(date +%s%N); ping -n -c1 -W5 ${host}; rc=$?; echo "rc=$rc ns=$(( $(date +%s%N) - s ))"`;
  const [cmd, ...args] = launcher(['sh', '-c', script]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000 });
  const m = /rc=(\d+) ns=(\d+)/.exec(r.stdout ?? '');
  if (!m) throw new Error(`ping did not run: ${r.stdout} ${r.stderr}`);
  return { ok: m[1] === '0', ms: Number(m[2]) / 1e6, output: r.stdout + r.stderr };
}

/** The host/far pair: host's default routes (v4, v6) lead to far, which owns the far addresses. */
function topology(prefix: string): { host: Netns; far: Netns; remove(): void } {
  const host = createNetns(`${prefix}h`);
  let far: Netns | undefined;
  try {
    far = createNetns(`${prefix}f`);
    const [a, b] = [uniqueName('pa'), uniqueName('pb')].map((n) => n.slice(0, 15));
    host.ip('link', 'add', a!, 'type', 'veth', 'peer', 'name', b!, 'netns', far.name);
    host.ip('addr', 'add', `${HOST_LAN}/24`, 'dev', a!);
    host.ip('addr', 'add', '2001:db8:20::1/64', 'dev', a!, 'nodad');
    host.ip('link', 'set', a!, 'up');
    host.ip('route', 'add', 'default', 'via', '198.18.20.2');
    host.ip('-6', 'route', 'add', 'default', 'via', '2001:db8:20::2');
    far.ip('addr', 'add', '198.18.20.2/24', 'dev', b!);
    far.ip('addr', 'add', '2001:db8:20::2/64', 'dev', b!, 'nodad');
    far.ip('link', 'set', b!, 'up');
    for (const addr of [`${FAR4}/32`, `${FAR_DNS}/32`]) far.ip('addr', 'add', addr, 'dev', 'lo');
    far.ip('addr', 'add', `${FAR6}/128`, 'dev', 'lo', 'nodad');
  } catch (err) {
    far?.remove();
    host.remove();
    throw err;
  }
  return {
    host,
    far,
    remove() {
      far!.remove();
      host.remove();
    },
  };
}

/** The profiles under test; `v2` writes `match: cgroupv2` and leaves the classids out. */
function config(table: string, cgroupParent: string, v2: boolean): string {
  const id = (n: number) => (v2 ? 'match: cgroupv2' : `classid: ${n}`);
  return [
    `table: ${table}`,
    `cgroupParent: ${cgroupParent}`,
    'profiles:',
    `  off: { ${id(201)}, network: offline }`,
    `  offdns: { ${id(202)}, network: offline, dns: { redirect: ${DNS_PORT} } }`,
    `  px: { ${id(203)}, proxy: { tcp: ${PROXY_PORT} } }`,
    `  tor: { ${id(204)}, proxy: { tcp: ${PROXY_PORT}, udp: reject }, dns: { redirect: ${DNS_PORT} }, ipv6: reject }`,
    '',
  ].join('\n');
}

for (const match of ['net_cls', 'cgroupv2'] as const) {
  describe(`offline and proxy profiles (${match})`, () => {
    const prefix = match === 'net_cls' ? 'nco' : 'ncq';
    const names = { table: uniqueName(`${prefix}t`), cgroupParent: uniqueName(`${prefix}cg`) };
    const daemons = new DaemonSet();
    const dir = mkdtempSync(join(tmpdir(), 'netcg-offline-proxy-'));
    const configFile = join(dir, 'netcg.yaml');
    let topo: ReturnType<typeof topology> | undefined;
    let proxy: ChildProcess | undefined;
    let plain: Launcher;
    const as = (profile: string) => member(topo!.host, configFile, profile);

    beforeAll(async () => {
      writeFileSync(configFile, config(names.table, names.cgroupParent, match === 'cgroupv2'));
      topo = topology(prefix);
      plain = outsider(topo.host);
      await daemons.echo(topo.far, 'far', ECHO);
      await daemons.echo(topo.far, 'far80', 80);
      await daemons.echo(topo.host, 'host', ECHO);
      await daemons.echo(topo.host, 'resolver', 53);
      proxy = spawn(
        'nsenter',
        [`--net=${topo.host.path}`, 'python3', PROXY, String(PROXY_PORT), String(DNS_PORT)],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      await new Promise<void>((resolve, reject) => {
        let err = '';
        proxy!.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        proxy!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        proxy!.once('exit', () => reject(new Error(`origdst-proxy exited: ${err}`)));
      });
      cliOk(['apply', '-c', configFile, '--netns', topo.host.path]);
    }, 60_000);

    afterAll(async () => {
      proxy?.kill('SIGKILL');
      await daemons.stopAll();
      topo?.remove();
      rmSync(dir, { recursive: true, force: true });
      expect(removeCgroupParent(names.cgroupParent)).toEqual([]);
    });

    describe('network: offline', () => {
      for (const [family, loop] of [
        ['IPv4', '127.0.0.1'],
        ['IPv6', '::1'],
      ] as const)
        it(`a member reaches a loopback server over ${family}`, () => {
          expect(probe(as('off'), 'tcp', loop, ECHO).reply).toMatch(/^host /);
          expect(probe(as('off'), 'udp', loop, ECHO).reply).toMatch(/^host /);
        });

      for (const [family, far] of [
        ['IPv4', FAR4],
        ['IPv6', FAR6],
      ] as const)
        for (const proto of ['tcp', 'udp'] as const)
          it(`a member's ${proto.toUpperCase()} to a far ${family} address fails at once (the outsider's works)`, () => {
            expect(probe(plain, proto, far, ECHO).reply).toMatch(/^far /);
            const r = probe(as('off'), proto, far, ECHO);
            expect(r.error).toMatch(proto === 'tcp' ? /^ECONNREFUSED$/ : REFUSED);
            expect(r.ms).toBeLessThan(FAST_MS);
            console.log(`offline ${match} ${proto} ${family}: failed in ${r.ms.toFixed(1)} ms (${r.error})`);
          });

      it("a member's ping to a far address fails at once with an unreachable (the outsider's works)", () => {
        expect(ping(plain, FAR4).ok).toBe(true);
        const r = ping(as('off'), FAR4);
        expect(r.ok).toBe(false);
        expect(r.output).toMatch(/Unreachable/);
        expect(r.ms).toBeLessThan(FAST_MS);
        console.log(`offline ${match} icmp: failed in ${r.ms.toFixed(1)} ms`);
      });

      it("DNS: a member's query to the loopback resolver fails without a dns redirect, and reaches the redirect port with one", () => {
        expect(probe(plain, 'udp', '127.0.0.1', 53).reply).toMatch(/^resolver /);
        const off = probe(as('off'), 'udp', '127.0.0.1', 53);
        expect(off.error).toMatch(REFUSED);
        expect(probe(as('off'), 'tcp', '127.0.0.1', 53).error).toBe('ECONNREFUSED');
        const viaRedirect = probe(as('offdns'), 'udp', FAR_DNS, 53);
        expect(viaRedirect, JSON.stringify(viaRedirect)).toMatchObject({ reply: 'dns-port' });
      });
    });

    describe('proxy', () => {
      it("a member's connection to 198.51.100.7:80 reaches the proxy, which reads the original destination", () => {
        expect(probe(plain, 'tcp', FAR4, 80).reply).toMatch(/^far80 /);
        expect(probe(as('px'), 'tcp', FAR4, 80).reply).toBe(`${FAR4}:80`);
      });

      it('over IPv6 too (IP6T_SO_ORIGINAL_DST)', () => {
        expect(probe(as('px'), 'tcp', FAR6, 80).reply).toBe(`[${FAR6}]:80`);
      });

      it("a member's connection to a local service is not redirected (loopback and the host's own address)", () => {
        expect(probe(as('px'), 'tcp', '127.0.0.1', ECHO).reply).toBe('host 127.0.0.1');
        expect(probe(as('px'), 'tcp', HOST_LAN, ECHO).reply).toBe(`host ${HOST_LAN}`);
      });

      it('without udp: reject, UDP is left alone', () => {
        expect(probe(as('px'), 'udp', FAR4, ECHO).reply).toMatch(/^far /);
      });

      it("with udp: reject, a member's UDP to a far address fails at once, and its DNS still reaches the redirect port", () => {
        const r = probe(as('tor'), 'udp', FAR4, ECHO);
        expect(r.error).toMatch(REFUSED);
        console.log(`proxy udp: reject ${match}: failed in ${r.ms.toFixed(1)} ms (${r.error})`);
        expect(r.ms).toBeLessThan(FAST_MS);
        expect(probe(as('tor'), 'udp', FAR_DNS, 53).reply).toBe('dns-port');
        expect(probe(as('tor'), 'tcp', FAR4, 80).reply).toBe(`${FAR4}:80`);
      });

      it('the Tor-like profile leaks no IPv6: its TCP over IPv6 fails', () => {
        expect(probe(as('tor'), 'tcp', FAR6, 80).error).toMatch(/^E[A-Z]+$/);
      });
    });

    describe('what the CLI shows', () => {
      it('status counts the new chains, diff is clean, export names the rules', () => {
        const netns = topo!.host.path;
        const status = JSON.parse(cliOk(['status', '-c', configFile, '--netns', netns, '--json']).stdout) as {
          inSync: boolean;
          profiles: Array<{
            name: string;
            features: object;
            rules: Array<{ chain: string; rule: string; packets: number }>;
          }>;
        };
        expect(status.inSync).toBe(true);
        const px = status.profiles.find((p) => p.name === 'px')!;
        expect(px.features).toEqual({ proxy: { tcp: PROXY_PORT } });
        const redirect = px.rules.find((r) => r.chain === 'proxy_px')!;
        expect(redirect.rule).toBe(`meta l4proto tcp fib daddr type != local redirect to :${PROXY_PORT}`);
        expect(redirect.packets).toBeGreaterThan(0);
        const off = status.profiles.find((p) => p.name === 'off')!;
        expect(
          off.rules.find((r) => r.rule === 'meta l4proto tcp reject with tcp reset')!.packets,
        ).toBeGreaterThan(0);
        const tor = status.profiles.find((p) => p.name === 'tor')!;
        expect(tor.rules.find((r) => r.chain === 'udp_tor' && r.rule === 'reject')!.packets).toBeGreaterThan(
          0,
        );
        expect(cliOk(['diff', '-c', configFile, '--netns', netns]).stdout).toMatch(/No changes/);
        const nft = cliOk(['export', '-c', configFile, '--netns', netns, '--format', 'nft']).stdout;
        expect(nft).toContain('fib daddr type local counter accept');
        const sh = cliOk(['export', '-c', configFile, '--netns', netns, '--format', 'sh']).stdout;
        expect(sh).toMatch(/-p tcp -m addrtype ! --dst-type LOCAL -j REDIRECT --to-ports 9040/);
      });
    });
  });
}
