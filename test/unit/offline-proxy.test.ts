// Issue 11, features 2 and 3 without root: what `network: offline` and `proxy`
// compile to (the nft text, which the e2e test checks against real traffic), how
// they compose with dns, and what the loader refuses.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/shared/errors.js';
import { renderNftTableScript } from '../../src/render/index.js';
import { renderShScript } from '../../src/render/sh.js';

const FACTS = { linkRoutes: [] };
const example = (name: string) =>
  parseConfig(readFileSync(new URL(`../../examples/${name}.yaml`, import.meta.url), 'utf8'), name);

function script(yaml: string): string {
  return renderNftTableScript(compile(parseConfig(yaml, 't.yaml'), FACTS).table);
}

function issues(yaml: string): string[] {
  try {
    parseConfig(yaml, 't.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('network: offline', () => {
  it('dispatches from its own filter output chain into loopback-only rules', () => {
    const text = script('profiles:\n  off: { classid: 7, network: offline }\n');
    expect(text).toContain(
      'add chain inet netcg filter_offline { type filter hook output priority 0; policy accept; }',
    );
    expect(text).toContain('add rule inet netcg filter_offline counter meta cgroup vmap @offline_dispatch');
    expect(text).toContain('add element inet netcg offline_dispatch { 7 : jump offline_off }');
    const rules = text.split('\n').filter((l) => l.startsWith('add rule inet netcg offline_off '));
    expect(rules.map((l) => l.slice('add rule inet netcg offline_off '.length))).toEqual([
      'udp dport 53 counter reject',
      'tcp dport 53 counter reject with tcp reset',
      'fib daddr type local counter accept',
      'meta l4proto tcp counter reject with tcp reset',
      'counter reject',
    ]);
  });

  it('refuses route and proxy on an offline profile, naming the key', () => {
    const found = issues(
      'profiles:\n  off: { classid: 7, network: offline, route: { via: tun0 }, proxy: { tcp: 9040 } }\n',
    );
    expect(found).toEqual([
      expect.stringMatching(/^profiles\.off\.route: profile "off" is offline .* remove route or network$/),
      expect.stringMatching(/^profiles\.off\.proxy: profile "off" is offline .* remove proxy or network$/),
    ]);
  });

  it('refuses other values', () => {
    expect(issues('profiles:\n  a: { classid: 7, network: none }\n')).toEqual([
      'profiles.a.network: network "none" is not supported; the only value is "offline" (omit the key for normal networking)',
    ]);
  });

  it('the example config loads', () => {
    expect(Object.keys(example('offline').profiles)).toEqual(['offline', 'offline-dns']);
  });
});

describe('proxy', () => {
  it('redirects TCP to non-local destinations from a nat chain after the DNS one', () => {
    const text = script('profiles:\n  px: { classid: 8, proxy: { tcp: 9040 } }\n');
    expect(text).toContain(
      'add chain inet netcg nat_proxy { type nat hook output priority -99; policy accept; }',
    );
    expect(text).toContain(
      'add rule inet netcg proxy_px meta l4proto tcp fib daddr type != local counter redirect to :9040',
    );
    expect(text).not.toContain('udp_');
  });

  it('udp: reject with dns: only UDP to the redirect port on a local address passes', () => {
    const text = script(readFileSync(new URL('../../examples/tor.yaml', import.meta.url), 'utf8'));
    expect(text).toContain(
      'add rule inet netcg filter_udp meta l4proto udp counter meta cgroup vmap @udp_dispatch',
    );
    const rules = text.split('\n').filter((l) => l.startsWith('add rule inet netcg udp_tor '));
    expect(rules.map((l) => l.slice('add rule inet netcg udp_tor '.length))).toEqual([
      'udp dport 5353 fib daddr type local counter return',
      'counter reject',
    ]);
  });

  it('udp: reject without dns rejects all of their UDP', () => {
    const text = script('profiles:\n  px: { classid: 8, proxy: { tcp: 9040, udp: reject } }\n');
    expect(text.split('\n').filter((l) => l.startsWith('add rule inet netcg udp_px '))).toEqual([
      'add rule inet netcg udp_px counter reject',
    ]);
  });

  it('cgroup v2 profiles use the _v2 maps', () => {
    const config = example('proxy');
    const desired = compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: { proxied: 77n } } });
    expect(desired.table.maps.map((m) => m.name)).toEqual(['proxy_dispatch_v2']);
  });

  it('sh export writes the iptables equivalents', () => {
    const config = example('tor');
    const desired = compile(config, FACTS);
    const sh = renderShScript({ config, desired, roots: { netCls: '/sys/fs/cgroup/net_cls' } });
    expect(sh).toContain(
      'iptables -t nat -A OUTPUT -m cgroup --cgroup 1048672 -p tcp -m addrtype ! --dst-type LOCAL -j REDIRECT --to-ports 9040',
    );
    expect(sh).toContain('ip6tables -A OUTPUT -m cgroup --cgroup 1048672 -p udp ! --dport 5353 -j REJECT');
  });

  it('refuses a bad port and unknown keys with a hint', () => {
    expect(issues('profiles:\n  a: { classid: 7, proxy: { tcp: 0, udpp: reject } }\n').sort()).toEqual([
      'profiles.a.proxy.tcp: port 0 is out of range; use 1..65535',
      'profiles.a.proxy.udpp: unknown key "udpp"; did you mean "udp"? (known keys here: tcp, udp, server)',
    ]);
  });
});
