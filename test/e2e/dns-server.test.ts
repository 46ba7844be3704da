// `dns.server` (issue 14): members' redirected DNS is answered only by a socket of
// the intended user. Real dnsmasq in a throwaway namespace (loopback only), the
// member's lookups through `netcg run` (cgroup v2 profile), an outsider's straight to
// the redirect port as the control that the resolver is up and answering.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk } from '../helpers/cli.js';
import { asUser, dnsmasqArgv, stopChild } from '../helpers/daemon.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { launch, member, outsider, type Launcher } from '../../test/testbed/probes.js';

const PORT = 5453;
const NAME = 'probe.netcg.test';
const ADDR = '198.18.0.53';

let ns: Netns;
const configs: TempConfig[] = [];
let running: ChildProcess | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dig(who: Launcher, opts: { port?: number; tcp?: boolean } = {}): string {
  const out = launch(who, [
    'dig',
    '+short',
    '+time=1',
    '+tries=1',
    ...(opts.tcp ? ['+tcp'] : []),
    '-p',
    String(opts.port ?? 53),
    '@127.0.0.1',
    NAME,
  ]);
  const first = out.stdout.split('\n')[0]?.trim() ?? '';
  return out.code === 0 && /^[0-9.]+$/.test(first) ? first : '';
}

/** dnsmasq on 127.0.0.1:PORT answering NAME; `as` runs it as that user from the start (setpriv), else as root dropping to nobody. */
async function startDnsmasq(as?: string): Promise<void> {
  await stopDnsmasq();
  const dnsmasq = dnsmasqArgv(PORT, NAME, ADDR);
  const argv = as ? [...asUser(as), ...dnsmasq] : dnsmasq;
  running = spawn('nsenter', [`--net=${ns.path}`, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  running.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 50; i++) {
    if (running.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
    if (dig(outsider(ns), { port: PORT }) === ADDR) return;
    await sleep(100);
  }
  throw new Error(`dnsmasq did not answer: ${err}`);
}

async function stopDnsmasq(): Promise<void> {
  const child = running;
  running = undefined;
  await stopChild(child);
}

function applyProfile(server?: string): Launcher {
  const c = tempConfig(
    `profiles:\n  dns:\n    match: cgroupv2\n    dns: { redirect: ${PORT}${server ? `, server: ${server}` : ''} }\n`,
    'ncds',
  );
  const previous = configs.at(-1);
  if (previous) cliOk(['down', '-c', previous.file, '--netns', ns.path]);
  configs.push(c);
  cliOk(['apply', '-c', c.file, '--netns', ns.path]);
  return member(ns, c.file, 'dns');
}

beforeAll(() => {
  ns = createNetns('ncdns');
});

afterAll(async () => {
  await stopDnsmasq();
  ns?.remove();
  for (const c of configs) c.remove();
});

describe('dns.server', () => {
  it('default (root): dnsmasq started as root that drops to nobody still answers members, UDP and TCP', async () => {
    await startDnsmasq();
    const m = applyProfile();
    expect(ns.nft('list', 'ruleset')).toMatch(
      new RegExp(
        `udp sport ${PORT} ct direction reply ct status dnat meta skuid != 0 counter packets \\d+ bytes \\d+ drop`,
      ),
    );
    expect(dig(m)).toBe(ADDR);
    expect(dig(m, { tcp: true })).toBe(ADDR);
  });

  it('default (root): an impostor (a socket bound by nobody) gets nothing through, UDP and TCP; outsiders still reach it', async () => {
    await startDnsmasq('nobody');
    const m = applyProfile();
    expect(dig(outsider(ns), { port: PORT })).toBe(ADDR); // the control: it is up and answering
    expect(dig(m)).toBe('');
    expect(dig(m, { tcp: true })).toBe('');
    const listed = ns.nft('list', 'ruleset');
    for (const proto of ['udp', 'tcp'])
      expect(
        Number(
          new RegExp(`${proto} sport ${PORT} .*meta skuid != 0 counter packets (\\d+)`).exec(listed)?.[1],
        ),
        listed,
      ).toBeGreaterThan(0);
  });

  it('server: nobody — the resolver running as that user answers members', async () => {
    await startDnsmasq('nobody');
    const m = applyProfile('nobody');
    expect(ns.nft('list', 'ruleset')).toContain(
      `udp sport ${PORT} ct direction reply ct status dnat meta skuid != 65534`,
    );
    expect(dig(m)).toBe(ADDR);
    expect(dig(m, { tcp: true })).toBe(ADDR);
  });

  it('with no server listening, lookups fail closed', async () => {
    await stopDnsmasq();
    const m = applyProfile();
    expect(dig(m)).toBe('');
    expect(dig(m, { tcp: true })).toBe('');
  });
});
