// netcg doctor against the kernel: each problem that can live in a network
// namespace is provoked in a throwaway one (rp_filter on a VPN profile's
// interface, a foreign drop chain before netcg's, an iptables-legacy table, IPv6
// switched off) and doctor must name it; the probe table must never be left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Finding } from '../../src/doctor/index.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
let cfg: TempConfig;

interface DoctorJson {
  version: number;
  status: string;
  exitCode: number;
  findings: Finding[];
}

function doctor(): { code: number | null; json: DoctorJson } {
  const r = runCli(['doctor', '-c', cfg.file, '--netns', ns.path, '--json']);
  return { code: r.code, json: JSON.parse(r.stdout) as DoctorJson };
}
const of = (j: DoctorJson, check: string) => j.findings.filter((f) => f.check === check);

beforeAll(() => {
  ns = createNetns('ncdoc');
  // A veth pair stands in for the VPN interface (this kernel has no dummy driver).
  ns.ip('link', 'add', 'vpn0', 'type', 'veth', 'peer', 'name', 'vpn0p');
  ns.ip('link', 'set', 'vpn0', 'up');
  ns.ip('link', 'set', 'vpn0p', 'up');
  ns.ip('addr', 'add', '198.51.100.1/24', 'dev', 'vpn0');
  ns.sysctl({
    'net.ipv4.conf.all.rp_filter': '0',
    'net.ipv4.conf.vpn0.rp_filter': '0',
    'net.ipv4.conf.all.src_valid_mark': '0',
  });
  cfg = tempConfig(
    'profiles:\n  web:\n    classid: 0x00110001\n    dns: { redirect: 5354 }\n    ipv6: reject\n  tunnel:\n    classid: 0x00110002\n    route: { via: vpn0 }\n',
    'ncdoc',
  );
  cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
});

afterAll(() => {
  try {
    if (cfg && ns) runCli(['down', '-c', cfg.file, '--netns', ns.path]);
  } finally {
    ns?.remove();
    cfg?.remove();
  }
});

describe('netcg doctor (kernel, throwaway namespace)', () => {
  it('finds nothing wrong in the namespace at first, and its probe table does not outlive the run', () => {
    const { json } = doctor();
    expect(json.version).toBe(1);
    for (const check of [
      'nftables',
      'socket-cgroupv2',
      'rp_filter',
      'ipv6',
      'iptables-legacy',
      'foreign-chains',
      'libnftnl',
    ]) {
      expect(
        of(json, check).map((f) => f.level),
        check,
      ).toEqual(of(json, check).map(() => 'ok'));
      expect(of(json, check).length, check).toBeGreaterThan(0);
    }
    expect(ns.nft('list', 'tables')).not.toContain('netcg_doctor');
  });

  it('warns about strict rp_filter on a via interface, with the fix; src_valid_mark=1 clears it', () => {
    // apply may itself set src_valid_mark=1 (it is what makes strict rp_filter work); reset it as a later change would.
    ns.sysctl({ 'net.ipv4.conf.vpn0.rp_filter': '1', 'net.ipv4.conf.all.src_valid_mark': '0' });
    const { code, json } = doctor();
    expect(code).toBe(1);
    const [f] = of(json, 'rp_filter');
    expect(f).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('vpn0'),
      fix: expect.stringContaining('rp_filter=2'),
    });
    ns.sysctl({ 'net.ipv4.conf.all.src_valid_mark': '1' });
    expect(of(doctor().json, 'rp_filter')[0]!.level).toBe('ok');
    ns.sysctl({ 'net.ipv4.conf.vpn0.rp_filter': '0', 'net.ipv4.conf.all.src_valid_mark': '0' });
  });

  it('finds a foreign output chain with policy drop that runs first', () => {
    ns.run(
      'nft',
      ['-f', '-'],
      'table ip ncdoc_foreign {\n chain out { type filter hook output priority -300; policy drop; }\n}\n',
    );
    try {
      const { code, json } = doctor();
      expect(code).toBe(1);
      expect(of(json, 'foreign-chains')).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: expect.stringMatching(
            /^ip ncdoc_foreign chain out \(filter hook output priority -300\) has policy drop/,
          ),
        }),
      ]);
    } finally {
      ns.nft('delete', 'table', 'ip', 'ncdoc_foreign');
    }
  });

  it('finds an iptables-legacy table in the namespace', () => {
    ns.run('iptables-legacy', ['-t', 'mangle', '-A', 'OUTPUT', '-j', 'ACCEPT']);
    try {
      const { code, json } = doctor();
      expect(code).toBe(1);
      expect(of(json, 'iptables-legacy')[0]).toMatchObject({
        level: 'warn',
        message: expect.stringContaining('ip mangle'),
      });
    } finally {
      ns.run('iptables-legacy', ['-t', 'mangle', '-F']);
    }
  });

  it('warns that IPv6 is off while a profile redirects DNS', () => {
    ns.sysctl({ 'net.ipv6.conf.all.disable_ipv6': '1' });
    try {
      const { code, json } = doctor();
      expect(code).toBe(1);
      expect(of(json, 'ipv6')[0]).toMatchObject({
        level: 'warn',
        message: expect.stringContaining('disable_ipv6=1'),
      });
    } finally {
      ns.sysctl({ 'net.ipv6.conf.all.disable_ipv6': '0' });
    }
  });

  it('reports a missing via interface as an error (exit 2), human text with the fix line', () => {
    ns.ip('link', 'del', 'vpn0');
    const r = runCli(['doctor', '-c', cfg.file, '--netns', ns.path]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/ERROR rp_filter: interface vpn0 .* does not exist/);
    expect(r.stdout).toMatch(/^ {6}fix: create vpn0/m);
  });
});
