// `proxy.server`: members' transparently proxied TCP is accepted only by a listening
// socket of the intended user. A throwaway namespace whose far destinations
// (198.51.100.7, 2001:db8:100::7) are routed into a veth pair with nobody behind it, so only the proxy
// redirect can answer them; a real transparent proxy's front door
// (test/fixtures/origdst-proxy.py: SO_ORIGINAL_DST, one line per accepted
// connection) run as root or as nobody; members through `netcg run` (cgroup v2
// profile); an outsider connecting straight to the proxy port as the control that
// the listener is up and accepting.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk } from '../helpers/cli.js';
import { asUser, stopChild } from '../helpers/daemon.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { member, outsider, type Launcher } from '../../test/testbed/probes.js';

const PROBE = fileURLToPath(new URL('../fixtures/l4-probe.mjs', import.meta.url));
const PROXY = fileURLToPath(new URL('../fixtures/origdst-proxy.py', import.meta.url));
const PORT = 9041;
const FAR4 = '198.51.100.7';
const FAR6 = '2001:db8:100::7';

let ns: Netns;
const configs: TempConfig[] = [];
let running: { child: ChildProcess; accepted: string[] } | undefined;

interface Probe {
  reply?: string;
  error?: string;
}

function probe(who: Launcher, host: string, port: number): Probe {
  const [cmd, ...args] = who([process.execPath, PROBE, 'tcp', host, String(port)]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000 });
  const line = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`probe did not run: ${r.stdout} ${r.stderr}`);
  return JSON.parse(line) as Probe;
}

/** The proxy on 127.0.0.1 and [::1] PORT; `as` runs it as that user (setpriv), else as root. */
async function startProxy(as?: string): Promise<void> {
  await stopProxy();
  // /usr/bin/python3: the system's, which any user may run (a version manager's shim may not be).
  const py = ['/usr/bin/python3', PROXY, String(PORT)];
  const argv = as ? [...asUser(as), ...py] : py;
  const child = spawn('nsenter', [`--net=${ns.path}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const accepted: string[] = [];
  running = { child, accepted };
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'ready') resolve();
        if (line.startsWith('accepted ')) accepted.push(line.slice('accepted '.length));
      }
    });
    child.once('exit', () => reject(new Error(`origdst-proxy exited: ${err}`)));
  });
}

/**
 * What the proxy accepted so far. The probes run synchronously (spawnSync), so its
 * output is read once the event loop turns; it wrote its line before answering.
 */
async function accepted(): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 300));
  return running!.accepted.slice();
}

async function stopProxy(): Promise<void> {
  const child = running?.child;
  running = undefined;
  await stopChild(child);
}

function applyProfile(server?: string): Launcher {
  const c = tempConfig(
    `profiles:\n  px:\n    match: cgroupv2\n    proxy: { tcp: ${PORT}${server ? `, server: ${server}` : ''} }\n`,
    'ncps',
  );
  const previous = configs.at(-1);
  if (previous) cliOk(['down', '-c', previous.file, '--netns', ns.path]);
  configs.push(c);
  cliOk(['apply', '-c', c.file, '--netns', ns.path]);
  return member(ns, c.file, 'px');
}

const dropped = (): number =>
  Number(
    new RegExp(`tcp sport ${PORT} tcp flags syn .*meta skuid != \\d+ counter packets (\\d+)`).exec(
      ns.nft('list', 'chain', 'inet', configs.at(-1)!.table, 'filter_proxyreply'),
    )?.[1],
  );

beforeAll(() => {
  ns = createNetns('ncpx');
  ns.ip('link', 'add', 'far0', 'type', 'veth', 'peer', 'name', 'far1');
  ns.ip('link', 'set', 'far1', 'up');
  ns.ip('addr', 'add', '198.18.30.1/24', 'dev', 'far0');
  ns.ip('addr', 'add', '2001:db8:30::1/64', 'dev', 'far0', 'nodad');
  ns.ip('link', 'set', 'far0', 'up');
  ns.ip('route', 'add', '198.51.100.0/24', 'dev', 'far0');
  ns.ip('-6', 'route', 'add', '2001:db8:100::/64', 'dev', 'far0');
});

afterAll(async () => {
  await stopProxy();
  ns?.remove();
  for (const c of configs) c.remove();
});

describe('proxy.server', () => {
  it('default (root): a proxy run as root accepts members, IPv4 and IPv6', async () => {
    await startProxy();
    const m = applyProfile();
    expect(ns.nft('list', 'ruleset')).toMatch(
      new RegExp(
        `tcp sport ${PORT} tcp flags syn ct direction reply ct status dnat meta skuid != 0 counter packets \\d+ bytes \\d+ drop`,
      ),
    );
    expect(probe(m, FAR4, 80)).toMatchObject({ reply: `${FAR4}:80` });
    expect(probe(m, FAR6, 443)).toMatchObject({ reply: `[${FAR6}]:443` });
    expect(await accepted()).toEqual([`${FAR4}:80`, `[${FAR6}]:443`]);
  });

  it('default (root): an impostor listening as nobody sees no member connection (it fails closed); outsiders still reach it', async () => {
    await startProxy('nobody');
    const m = applyProfile();
    expect(probe(outsider(ns), '127.0.0.1', PORT).reply).toBe('127.0.0.1:9041'); // the control: up and accepting
    expect(await accepted()).toEqual(['127.0.0.1:9041']);
    expect(probe(m, FAR4, 80)).toEqual(expect.objectContaining({ error: 'ETIMEDOUT' }));
    expect(probe(m, FAR6, 80)).toEqual(expect.objectContaining({ error: 'ETIMEDOUT' }));
    expect(await accepted()).toEqual(['127.0.0.1:9041']);
    expect(dropped()).toBeGreaterThan(0);
  });

  it('server: nobody — the proxy running as that user accepts members', async () => {
    await startProxy('nobody');
    const m = applyProfile('nobody');
    expect(ns.nft('list', 'ruleset')).toContain(
      `tcp sport ${PORT} tcp flags syn ct direction reply ct status dnat meta skuid != 65534`,
    );
    expect(probe(m, FAR4, 80)).toMatchObject({ reply: `${FAR4}:80` });
    expect(await accepted()).toEqual([`${FAR4}:80`]);
  });

  it('with no proxy listening, members are refused', async () => {
    await stopProxy();
    const m = applyProfile();
    expect(probe(m, FAR4, 80)).toEqual(expect.objectContaining({ error: 'ECONNREFUSED' }));
  });
});
