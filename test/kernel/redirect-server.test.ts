// Who listens on the redirect ports, through the built CLI in a throwaway namespace:
// `netcg status` (text and --json) names each socket's owner and holder, `netcg
// doctor` errs on an impostor (a listener of another user than `server`), warns
// while nothing listens, and explains an unprivileged port. The listeners are real
// processes (test/fixtures/listen.py) started in the namespace as root or nobody.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Finding } from '../../src/doctor/index.js';
import type { StatusSnapshot } from '../../src/status/model.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const LISTEN = fileURLToPath(new URL('../fixtures/listen.py', import.meta.url));
const DNS = 5491;
/** Below 1024: only a privileged process can bind it, so doctor has nothing to explain. */
const PROXY = 991;

let ns: Netns;
let cfg: TempConfig;
const running: ChildProcess[] = [];

async function listen(port: number, as: 'root' | 'nobody', kinds: string): Promise<ChildProcess> {
  const py = ['/usr/bin/python3', LISTEN, String(port), kinds];
  const argv = as === 'root' ? py : ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...py];
  const child = spawn('nsenter', [`--net=${ns.path}`, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', () => reject(new Error(`listen.py ${port} as ${as} exited: ${err}`)));
  });
  return child;
}

async function stopAll(): Promise<void> {
  for (const c of running.splice(0)) {
    if (c.exitCode !== null) continue;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }
}

function doctor(): { code: number | null; findings: Finding[] } {
  const r = runCli(['doctor', '-c', cfg.file, '--netns', ns.path, '--json']);
  const findings = (JSON.parse(r.stdout) as { findings: Finding[] }).findings;
  return { code: r.code, findings: findings.filter((f) => f.check === 'redirect-server') };
}

function status(): StatusSnapshot {
  return JSON.parse(cliOk(['status', '-c', cfg.file, '--netns', ns.path, '--json']).stdout) as StatusSnapshot;
}

beforeAll(() => {
  ns = createNetns('ncrs');
  cfg = tempConfig(
    `profiles:\n  web:\n    match: cgroupv2\n    dns: { redirect: ${DNS} }\n  tor:\n    match: cgroupv2\n    proxy: { tcp: ${PROXY} }\n`,
    'ncrs',
  );
  cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
});

afterAll(async () => {
  await stopAll();
  try {
    if (cfg && ns) runCli(['down', '-c', cfg.file, '--netns', ns.path]);
  } finally {
    ns?.remove();
    cfg?.remove();
  }
});

describe('who listens on the redirect ports', () => {
  it('nothing listens: doctor warns for each port and explains the unprivileged one; status lists no socket', async () => {
    await stopAll();
    const d = doctor();
    expect(d.code).toBe(1);
    expect(d.findings.map((f) => `${f.level}: ${f.message}`)).toEqual([
      `warn: dns :${DNS} (web): nothing listens on udp/tcp :${DNS}: members' lookups fail until the resolver runs`,
      `info: dns :${DNS} (web): port ${DNS} is unprivileged, so any user may bind it while the resolver is down; netcg drops what any socket but root's sends members from it`,
      `warn: proxy :${PROXY} (tor): nothing listens on tcp :${PROXY}: members' connections fail until the proxy runs`,
    ]);
    const s = status();
    expect(s.servers.map((x) => [x.kind, x.port, x.server, x.listeners])).toEqual([
      ['dns', DNS, { user: 'root', uid: 0 }, []],
      ['proxy', PROXY, { user: 'root', uid: 0 }, []],
    ]);
  });

  it('an impostor (nobody) on the DNS port: doctor errs naming its uid, user and process; status shows it', async () => {
    await stopAll();
    const impostor = await listen(DNS, 'nobody', 'both');
    const root = await listen(PROXY, 'root', 'tcp');
    const d = doctor();
    expect(d.code).toBe(2);
    const errors = d.findings.filter((f) => f.level === 'error');
    expect(errors.map((f) => f.message)).toEqual(
      ['udp 127.0.0.1', 'udp ::1', 'tcp 127.0.0.1', 'tcp ::1'].map(
        (sock) =>
          `dns :${DNS} (web): ${sock} is bound by uid 65534 nobody (pid ${impostor.pid} python3), not by the server root: members get nothing from it`,
      ),
    );
    expect(errors[0]!.fix).toContain('profiles.web.dns.server: nobody');
    expect(d.findings.find((f) => f.message.startsWith(`proxy :${PROXY}`))).toEqual({
      check: 'redirect-server',
      level: 'ok',
      message: `proxy :${PROXY} (tor): answered by root only (pid ${root.pid} python3)`,
    });

    const s = status();
    const dns = s.servers.find((x) => x.kind === 'dns')!;
    expect(dns.listeners.map((l) => [l.protocol, l.family, l.address, l.uid, l.user, l.server])).toEqual([
      ['udp', 4, '127.0.0.1', 65534, 'nobody', false],
      ['udp', 6, '::1', 65534, 'nobody', false],
      ['tcp', 4, '127.0.0.1', 65534, 'nobody', false],
      ['tcp', 6, '::1', 65534, 'nobody', false],
    ]);
    for (const l of dns.listeners) {
      expect(l.processes).toEqual([{ pid: impostor.pid, comm: 'python3' }]);
      expect(l.inode).toBeGreaterThan(0);
    }
    const text = cliOk(['status', '-c', cfg.file, '--netns', ns.path]).stdout;
    expect(text).toContain(`  dns :${DNS} (web) · server root (uid 0)`);
    expect(text).toContain(
      `    udp 127.0.0.1 · uid 65534 nobody · pid ${impostor.pid} python3 · impostor (dropped)`,
    );
    expect(text).toContain(`    no socket of root on udp/tcp :${DNS}: members' lookups fail`);
    expect(text).toContain(`    tcp 127.0.0.1 · uid 0 root · pid ${root.pid} python3`);
  });

  it('the server (root) on both ports: doctor finds them fine; status marks the sockets as the server', async () => {
    await stopAll();
    const dns = await listen(DNS, 'root', 'both');
    await listen(PROXY, 'root', 'tcp');
    const d = doctor();
    expect(d.findings.filter((f) => f.level !== 'ok' && f.level !== 'info')).toEqual([]);
    expect(d.findings[0]!.message).toBe(`dns :${DNS} (web): answered by root only (pid ${dns.pid} python3)`);
    const s = status();
    expect(s.servers.every((x) => x.listeners.length > 0 && x.listeners.every((l) => l.server))).toBe(true);
  });
});
