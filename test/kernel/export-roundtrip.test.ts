// `netcg export` round trips against the real kernel, in throwaway namespaces:
// - nft: `nft -f` of the export in a fresh namespace lists exactly what the
//   netlink backend installed for the same config, and the `ip` commands in its
//   comments give the same ip rules and routes;
// - sh: the script runs under iptables-nft in a namespace; its IPv4 rules are the
//   recipe's own rules plus what netcg adds (connmark, the dns.server check;
//   iptables-save equal), its IPv6 rules and ip rules/routes are what netcg installs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { loadConfig } from '../../src/config/index.js';
import { buildTopology, type Topology } from '../testbed/topology.js';
import { cliOk } from '../helpers/cli.js';
import { seedText, tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

/** The recipe's netfilter commands (per-process-netfilter.txt), verbatim, for classids 42 and 43. */
const RECIPE = [
  'iptables -t nat -A OUTPUT -m cgroup --cgroup 42 -p udp --dport 53 -j REDIRECT --to-ports 5354',
  'iptables -t nat -A OUTPUT -m cgroup --cgroup 42 -p tcp --dport 53 -j REDIRECT --to-ports 5354',
  'ip6tables -A OUTPUT -m cgroup --cgroup 42 -j REJECT',
  'iptables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j MARK --set-mark 43',
  'iptables -t nat -A POSTROUTING -m mark --mark 43 --out-interface tun0 -j MASQUERADE',
  // netcg adds what strict rp_filter needs (the recipe predates it): save the mark, restore it on replies.
  'iptables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j CONNMARK --save-mark',
  'iptables -t mangle -A PREROUTING -m connmark --mark 43 -j CONNMARK --restore-mark',
  // ... and `dns.server` (default root): only root's sockets answer members from the redirect port.
  'iptables -A OUTPUT -p udp --sport 5354 -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
  'iptables -A OUTPUT -p tcp --sport 5354 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
];

/** iptables-save without its timestamped comments and counters, so two namespaces compare. */
function saved(ns: Netns, cmd: 'iptables-save' | 'ip6tables-save'): string {
  return ns
    .run(cmd, [])
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    .join('\n');
}

function runScript(ns: Netns, script: string, env: NodeJS.ProcessEnv = {}): void {
  execFileSync('nsenter', [`--net=${ns.path}`, 'sh', '-e'], {
    input: script,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

describe('netcg export on examples/seed.yaml', () => {
  let cfg: TempConfig;
  let installed: Topology;
  let nftExport: string;
  let shExport: string;

  beforeAll(() => {
    cfg = tempConfig(seedText().replace(/^\s*owner:.*\n/m, ''), 'ex');
    installed = buildTopology('exi');
    const nl = new NetlinkBackend(installed.host.path);
    try {
      apply(loadConfig(cfg.file), nl);
    } finally {
      nl.close();
    }
    // Host facts (lan0's and tun0's link routes) come from the namespace named by --netns.
    nftExport = cliOk(['export', '-c', cfg.file, '--netns', installed.host.path]).stdout;
    shExport = cliOk(['export', '-c', cfg.file, '--netns', installed.host.path, '--format', 'sh']).stdout;
  });

  afterAll(() => {
    try {
      installed?.remove();
    } finally {
      cfg?.remove();
    }
  });

  it('nft: `nft -f` of the export in a fresh namespace lists what the netlink backend installed', () => {
    const fresh = createNetns('exf');
    try {
      fresh.run('nft', ['-f', '-'], nftExport);
      const want = installed.host.nft('-s', 'list', 'table', 'inet', cfg.table);
      expect(want).toContain('meta cgroup vmap @dns_dispatch');
      expect(fresh.nft('-s', 'list', 'table', 'inet', cfg.table)).toBe(want);
      // Only netcg's table: nothing else appears in the ruleset.
      expect(fresh.nft('list', 'tables').trim()).toBe(`table inet ${cfg.table}`);
    } finally {
      fresh.remove();
    }
  });

  it('nft: the `ip` commands in its comments give the ip rules and routes netcg installed', () => {
    const ipLines = nftExport
      .split('\n')
      .filter((l) => l.startsWith('#   ip '))
      .map((l) => l.slice(4));
    expect(ipLines).toContain('ip -4 rule add priority 10000 fwmark 0x2b table 43 protocol 110');
    expect(ipLines.some((l) => l.includes('dev lan0 table 43'))).toBe(true);
    const other = buildTopology('exc');
    try {
      runScript(other.host, `${ipLines.join('\n')}\n`);
      for (const args of [
        ['-4', 'rule', 'show'],
        ['-6', 'rule', 'show'],
        ['-4', 'route', 'show', 'table', '43'],
        ['-6', 'route', 'show', 'table', '43'],
      ])
        expect(other.host.ip(...args)).toBe(installed.host.ip(...args));
    } finally {
      other.remove();
    }
  });

  describe('sh', () => {
    let viaSh: Topology;
    let recipe: Netns;
    let cgroupDir: string;

    beforeAll(() => {
      // The script's cgroups go to a plain temp directory: this test changes no real cgroup.
      cgroupDir = mkdtempSync(join(tmpdir(), 'netcg-export-'));
      viaSh = buildTopology('exs');
      recipe = createNetns('exr');
      runScript(viaSh.host, shExport, { NET_CLS: cgroupDir });
      runScript(recipe, `${RECIPE.join('\n')}\n`);
    });

    afterAll(() => {
      viaSh?.remove();
      recipe?.remove();
      rmSync(cgroupDir, { recursive: true, force: true });
    });

    it("is in the recipe's style: mkdir, echo classid, -m cgroup --cgroup", () => {
      expect(shExport).toMatch(/^#!\/bin\/sh -e\n/);
      expect(shExport).toContain(`echo 42 > "$NET_CLS/${cfg.cgroupParent}/unlocator"/net_cls.classid`);
      for (const line of RECIPE) expect(shExport).toContain(line);
      expect(
        readFileSync(join(cgroupDir, cfg.cgroupParent, 'unlocator', 'net_cls.classid'), 'utf8').trim(),
      ).toBe('42');
      expect(readFileSync(join(cgroupDir, cfg.cgroupParent, 'vpn', 'net_cls.classid'), 'utf8').trim()).toBe(
        '43',
      );
    });

    it("its IPv4 rules are exactly the recipe's plus the connmark save/restore (iptables-save equal)", () => {
      const got = saved(viaSh.host, 'iptables-save');
      expect(got).toContain(
        '-A OUTPUT -p udp -m cgroup --cgroup 42 -m udp --dport 53 -j REDIRECT --to-ports 5354',
      );
      expect(got).toContain('-A OUTPUT -m cgroup --cgroup 43 -j MARK --set-xmark 0x2b/0xffffffff');
      expect(got).toContain('-A POSTROUTING -o tun0 -m mark --mark 0x2b -j MASQUERADE');
      expect(got).toContain(
        '-A OUTPUT -p udp -m udp --sport 5354 -m conntrack --ctstate DNAT --ctdir REPLY -m owner ! --uid-owner 0 -j DROP',
      );
      expect(got).toBe(saved(recipe, 'iptables-save'));
    });

    it("its IPv6 rules add to the recipe's reject what netcg's inet table also does for IPv6", () => {
      const got = saved(viaSh.host, 'ip6tables-save');
      expect(got).toContain('-A OUTPUT -m cgroup --cgroup 42 -j REJECT --reject-with icmp6-port-unreachable');
      expect(got).toContain(
        '-A OUTPUT -p tcp -m cgroup --cgroup 42 -m tcp --dport 53 -j REDIRECT --to-ports 5354',
      );
      expect(got).toContain('-A OUTPUT -m cgroup --cgroup 43 -j MARK --set-xmark 0x2b/0xffffffff');
      expect(got).toContain('-A POSTROUTING -o tun0 -m mark --mark 0x2b -j MASQUERADE');
    });

    it('its ip rules and routes are the ones netcg installs', () => {
      for (const args of [
        ['-4', 'rule', 'show'],
        ['-6', 'rule', 'show'],
        ['-4', 'route', 'show', 'table', '43'],
        ['-6', 'route', 'show', 'table', '43'],
      ])
        expect(viaSh.host.ip(...args)).toBe(installed.host.ip(...args));
    });
  });
});
