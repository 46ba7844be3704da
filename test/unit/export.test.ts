// The two `netcg export` renderings, from a compiled config and fixed host facts
// (pure: no kernel). The kernel round trip is test/kernel/export-roundtrip.test.ts.
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import type { HostFacts } from '../../src/shared/model.js';
import { renderNftScript } from '../../src/render/index.js';
import { renderNftExport } from '../../src/render/nft-export.js';
import { renderShScript } from '../../src/render/sh.js';

const FACTS: HostFacts = {
  linkRoutes: [{ family: 4, dst: '198.18.0.0/24', dev: 'lan0' }],
  cgroups: { netCls: true, ids: {} },
};
const ROOTS = { netCls: '/sys/fs/cgroup/net_cls', cgroup2: '/sys/fs/cgroup/unified' };

function exportOf(config: ReturnType<typeof loadConfig>, facts: HostFacts = FACTS) {
  return { config, desired: compile(config, facts), roots: ROOTS };
}

describe('export --format nft', () => {
  const input = exportOf(loadConfig('examples/seed.yaml'));
  const text = renderNftExport(input);
  const commands = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

  it("is the nft backend's table script, unchanged, as its only commands", () => {
    expect(text.startsWith('#!/usr/sbin/nft -f\n')).toBe(true);
    expect(`${commands.join('\n')}\n`).toBe(renderNftScript(input.desired));
  });

  it('lists the ip routes, ip rules and cgroups as comments with runnable ip commands', () => {
    expect(text).toContain('#   ip -4 route add default dev tun0 table 43 proto 110 scope global\n');
    expect(text).toContain('#   ip -4 route add 198.18.0.0/24 dev lan0 table 43 proto 110 scope link\n');
    expect(text).toContain('#   ip -4 rule add priority 10000 fwmark 0x2b table 43 protocol 110\n');
    expect(text).toContain('#   ip -6 rule add priority 10000 fwmark 0x2b table 43 protocol 110\n');
    expect(text).toContain('#   /sys/fs/cgroup/net_cls/netcg/unlocator  net_cls.classid 42\n');
  });

  it('says so when no profile routes', () => {
    const cfg = parseConfig('profiles:\n  a: { classid: 7, ipv6: reject }\n', 'a.yaml');
    expect(renderNftExport(exportOf(cfg))).toContain('#   (none: no profile has a route)');
  });
});

describe('export --format sh', () => {
  it("renders the seed in the recipe's words, both families where the inet table acts on both", () => {
    expect(renderShScript(exportOf(loadConfig('examples/seed.yaml')))).toBe(
      [
        '#!/bin/sh -e',
        '# netcg policy from examples/seed.yaml, as iptables/ip6tables/ip commands (netcg export --format sh).',
        '# Equivalent to what `netcg apply` installs; run it as root on a host without netcg.',
        "# netcg's table is inet, so the DNS redirect, mark and masquerade are emitted for IPv6 too.",
        'NET_CLS=${NET_CLS:-/sys/fs/cgroup/net_cls}',
        '',
        '# profile unlocator',
        'mkdir -p "$NET_CLS/netcg/unlocator"',
        'echo 42 > "$NET_CLS/netcg/unlocator"/net_cls.classid',
        'iptables -t nat -A OUTPUT -m cgroup --cgroup 42 -p udp --dport 53 -j REDIRECT --to-ports 5354',
        'iptables -t nat -A OUTPUT -m cgroup --cgroup 42 -p tcp --dport 53 -j REDIRECT --to-ports 5354',
        'ip6tables -t nat -A OUTPUT -m cgroup --cgroup 42 -p udp --dport 53 -j REDIRECT --to-ports 5354',
        'ip6tables -t nat -A OUTPUT -m cgroup --cgroup 42 -p tcp --dport 53 -j REDIRECT --to-ports 5354',
        'ip6tables -A OUTPUT -m cgroup --cgroup 42 -j REJECT',
        '',
        '# profile vpn',
        'mkdir -p "$NET_CLS/netcg/vpn"',
        'echo 43 > "$NET_CLS/netcg/vpn"/net_cls.classid',
        'iptables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j MARK --set-mark 43',
        'ip6tables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j MARK --set-mark 43',
        'iptables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j CONNMARK --save-mark',
        'ip6tables -t mangle -A OUTPUT -m cgroup --cgroup 43 -j CONNMARK --save-mark',
        '',
        "# dns.server / proxy.server: members get answers from a redirect port only from the server's sockets",
        'iptables -A OUTPUT -p udp --sport 5354 -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
        'iptables -A OUTPUT -p tcp --sport 5354 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
        'ip6tables -A OUTPUT -p udp --sport 5354 -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
        'ip6tables -A OUTPUT -p tcp --sport 5354 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 0 -j DROP',
        '',
        "# policy routing: each routed profile's table (routes first, then the rules that use them)",
        'ip -4 route add default dev tun0 table 43 proto 110 scope global',
        'ip -4 route add unreachable default table 43 proto 110 scope global metric 4294967295',
        'ip -4 route add 198.18.0.0/24 dev lan0 table 43 proto 110 scope link',
        'ip -6 route add default dev tun0 table 43 proto 110 scope global',
        'ip -6 route add unreachable default table 43 proto 110 scope global metric 4294967295',
        'ip -4 rule add priority 10000 fwmark 0x2b table 43 protocol 110',
        'ip -6 rule add priority 10000 fwmark 0x2b table 43 protocol 110',
        '',
        '# strict rp_filter: replies get the mark back (connmark restore + src_valid_mark)',
        'iptables -t mangle -A PREROUTING -m connmark --mark 43 -j CONNMARK --restore-mark',
        'ip6tables -t mangle -A PREROUTING -m connmark --mark 43 -j CONNMARK --restore-mark',
        'sysctl -qw net.ipv4.conf.all.src_valid_mark=1',
        '',
        '# source NAT to the VPN address (routing chose the source before the mark re-routed)',
        'iptables -t nat -A POSTROUTING -m mark --mark 43 --out-interface tun0 -j MASQUERADE',
        'ip6tables -t nat -A POSTROUTING -m mark --mark 43 --out-interface tun0 -j MASQUERADE',
        '',
      ].join('\n'),
    );
  });

  it('matches cgroup v2 profiles by path, delegates to the owner, and shares one MASQUERADE per (mark, via)', () => {
    const cfg = parseConfig(
      [
        'profiles:',
        '  a: { match: cgroupv2, owner: "0", route: { via: wg0, mark: 9, table: 100 } }',
        '  b: { classid: 5, route: { via: wg0, mark: 9, table: 100 } }',
        '',
      ].join('\n'),
      'v2.yaml',
    );
    const sh = renderShScript(exportOf(cfg));
    expect(sh).toContain('CGROUP2=${CGROUP2:-/sys/fs/cgroup/unified}\n');
    expect(sh).toContain('mkdir -p "$CGROUP2/netcg/a"\n');
    expect(sh).toContain('chown 0: "$CGROUP2/netcg/a" "$CGROUP2/netcg/a"/cgroup.procs');
    expect(sh).toContain('iptables -t mangle -A OUTPUT -m cgroup --path netcg/a -j MARK --set-mark 9\n');
    expect(sh).toContain('iptables -t mangle -A OUTPUT -m cgroup --cgroup 5 -j MARK --set-mark 9\n');
    expect(sh.match(/^iptables -t nat -A POSTROUTING .*$/gm)).toEqual([
      'iptables -t nat -A POSTROUTING -m mark --mark 9 --out-interface wg0 -j MASQUERADE',
    ]);
    expect(sh).not.toContain('echo 0 >');
    expect(sh).not.toContain('--uid-owner');
  });

  it('keeps the dns.server and proxy.server checks: the server by uid, user names resolved at export', () => {
    const cfg = parseConfig(
      [
        'profiles:',
        '  tor: { classid: 7, dns: { redirect: 5353, server: 101 }, proxy: { tcp: 9040, server: debian-tor } }',
        '',
      ].join('\n'),
      'tor.yaml',
    );
    const facts = { ...FACTS, users: { 'debian-tor': 108 } };
    const sh = renderShScript({ ...exportOf(cfg, facts), users: facts.users });
    expect(sh.match(/^.*--uid-owner.*$/gm)).toEqual([
      'iptables -A OUTPUT -p udp --sport 5353 -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 101 -j DROP',
      'iptables -A OUTPUT -p tcp --sport 5353 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 101 -j DROP',
      'iptables -A OUTPUT -p tcp --sport 9040 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 108 -j DROP',
      'ip6tables -A OUTPUT -p udp --sport 5353 -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 101 -j DROP',
      'ip6tables -A OUTPUT -p tcp --sport 5353 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 101 -j DROP',
      'ip6tables -A OUTPUT -p tcp --sport 9040 --tcp-flags SYN SYN -m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner 108 -j DROP',
    ]);
  });
});
