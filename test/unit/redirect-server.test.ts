// Who listens on the redirect ports, as status builds it (serverStatuses) and doctor
// judges it (checkRedirectServers): pure, over crafted listeners.
import { describe, expect, it } from 'vitest';

import { servedPorts } from '../../src/compile/servers.js';
import { parseConfig } from '../../src/config/index.js';
import { checkRedirectServers } from '../../src/doctor/servers.js';
import { serverStatuses, type ListenerFact } from '../../src/status/servers.js';

const config = parseConfig(
  [
    'profiles:',
    '  a: { classid: 42, dns: { redirect: 5354 } }',
    '  b: { classid: 43, dns: { redirect: 5354 }, proxy: { tcp: 900, server: debian-tor } }',
    '  c: { classid: 44, dns: { redirect: 53535, server: ghost } }',
    '',
  ].join('\n'),
  'c.yaml',
);

const listener = (protocol: 'udp' | 'tcp', port: number, uid: number, pid = 812): ListenerFact => ({
  protocol,
  family: 4,
  address: '127.0.0.1',
  port,
  uid,
  inode: pid * 10 + (protocol === 'udp' ? 1 : 2),
  processes: [{ pid, comm: uid === 0 ? 'dnsmasq' : 'python3' }],
});

const statuses = (listeners: ListenerFact[]) =>
  serverStatuses({
    ports: servedPorts(config),
    listeners,
    serverUids: { root: 0, 'debian-tor': 108, ghost: null },
    userNames: { 0: 'root', 65534: 'nobody', 108: 'debian-tor' },
  });

describe('redirect ports', () => {
  it('servedPorts: each port once, with its protocols, server and profiles', () => {
    expect(servedPorts(config)).toEqual([
      { kind: 'dns', port: 5354, protocols: ['udp', 'tcp'], server: 'root', profiles: ['a', 'b'] },
      { kind: 'dns', port: 53535, protocols: ['udp', 'tcp'], server: 'ghost', profiles: ['c'] },
      { kind: 'proxy', port: 900, protocols: ['tcp'], server: 'debian-tor', profiles: ['b'] },
    ]);
  });

  it("serverStatuses: a listener is the server's when its uid is the server's", () => {
    const [dns, , proxy] = statuses([
      listener('tcp', 5354, 65534, 900),
      listener('udp', 5354, 0),
      listener('tcp', 900, 108, 700),
      listener('udp', 900, 0), // UDP on a proxy port: not what the redirect carries
    ]);
    expect(dns!.listeners.map((l) => [l.protocol, l.user, l.server])).toEqual([
      ['udp', 'root', true],
      ['tcp', 'nobody', false],
    ]);
    expect(proxy!.listeners.map((l) => [l.protocol, l.user, l.server])).toEqual([
      ['tcp', 'debian-tor', true],
    ]);
  });

  it('doctor: error for an impostor and for an unknown server, warning for nothing listening, info for unprivileged ports', () => {
    const findings = checkRedirectServers(statuses([listener('tcp', 5354, 65534, 900)]), true);
    const lines = findings.map((f) => `${f.level}: ${f.message}`);
    expect(lines).toEqual([
      'error: dns :5354 (a, b): tcp 127.0.0.1 is bound by uid 65534 nobody (pid 900 python3), not by the server root: members get nothing from it',
      "warn: dns :5354 (a, b): nothing listens on udp :5354: members' lookups fail until the resolver runs",
      "info: dns :5354 (a, b): port 5354 is unprivileged, so any user may bind it while the resolver is down; netcg drops what any socket but root's sends members from it",
      'error: dns :53535 (c): the server "ghost" is no user on this host (apply refuses the config)',
      "warn: proxy :900 (b): nothing listens on tcp :900: members' connections fail until the proxy runs",
    ]);
    expect(findings[0]!.fix).toBe(
      'if that is your resolver, set dns.server of a, b: nobody; else stop it and start the resolver as root (one that binds as root and drops privileges counts as root)',
    );
    expect(findings.filter((f) => f.level !== 'info' && f.level !== 'ok').every((f) => f.fix)).toBe(true);
  });

  it('doctor: ok when only the server listens; nothing without redirects; said so when not read', () => {
    const ok = checkRedirectServers(statuses([listener('udp', 5354, 0), listener('tcp', 5354, 0)]), true);
    expect(ok[0]).toEqual({
      check: 'redirect-server',
      level: 'ok',
      message: 'dns :5354 (a, b): answered by root only (pid 812 dnsmasq)',
    });
    expect(checkRedirectServers([], false)).toEqual([]);
    expect(checkRedirectServers(undefined, true)).toEqual([
      {
        check: 'redirect-server',
        level: 'info',
        message: 'not checked (the addon did not load): who listens on the redirect ports',
      },
    ]);
  });
});
