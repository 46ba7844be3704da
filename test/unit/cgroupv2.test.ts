// cgroup v2 profiles, the pure parts: `match:` in the config, how auto resolves,
// the v2 dispatch maps compile emits (keyed by cgroup2 ID at the profiles' level),
// the set userdata nft sends for `typeof socket cgroupv2`, and the rule text.
import { describe, expect, it } from 'vitest';

import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/shared/errors.js';
import { parseNetClsEnabled } from '../../src/cgroups/match.js';
import { profileLevel, resolveMatch } from '../../src/compile/match.js';
import { cgroupV2VerdictMapUserdata, hostU64, readHostU64 } from '../../src/nft/index.js';
import { ruleText } from '../../src/render/index.js';

const V2 = `cgroupParent: netcg
profiles:
  unlocator:
    match: cgroupv2
    dns: { redirect: 5354 }
    ipv6: reject
  vpn:
    match: cgroupv2
    route: { via: tun0, table: 43 }
  legacy:
    classid: 42
    dns: { redirect: 5355 }
`;

function issues(text: string): string[] {
  try {
    parseConfig(text, 'netcg.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('config: match', () => {
  it('accepts match: cgroupv2 without a classid, and keeps the classid optional', () => {
    const c = parseConfig(V2, 'netcg.yaml');
    expect(c.profiles.unlocator).toEqual({
      name: 'unlocator',
      match: 'cgroupv2',
      dns: { redirect: 5354 },
      ipv6: 'reject',
    });
    expect(c.profiles.legacy).toEqual({ name: 'legacy', classid: 42, dns: { redirect: 5355 } });
  });

  it('a cgroupv2 profile without classid takes mark and table from each other', () => {
    expect(parseConfig(V2, 'netcg.yaml').profiles.vpn!.route).toMatchObject({ mark: 43, table: 43 });
  });

  it('refuses an unknown match, and a net_cls or auto profile without classid', () => {
    expect(issues('profiles:\n  a: { match: v3, ipv6: reject }\n')).toEqual([
      expect.stringMatching(/^profiles\.a\.classid: required key "classid" is missing/),
      expect.stringMatching(
        /^profiles\.a\.match: match "v3" is not known; use auto .*, net_cls or cgroupv2$/,
      ),
    ]);
    expect(issues('profiles:\n  a: { match: net_cls, ipv6: reject }\n')).toEqual([
      expect.stringMatching(
        /needs a classid \(net_cls matches members by it\); add classid: N, or set match: cgroupv2/,
      ),
    ]);
  });

  it('a routed cgroupv2 profile without classid, mark or table gets numbers picked by netcg', () => {
    expect(issues('profiles:\n  a: { match: cgroupv2, route: { via: tun0 } }\n')).toEqual([]);
  });
});

describe('match resolution', () => {
  it('auto is net_cls where the kernel has it, cgroup v2 otherwise; explicit kinds are kept', () => {
    expect(resolveMatch({ classid: 1 }, true)).toBe('net_cls');
    expect(resolveMatch({ classid: 1 }, false)).toBe('cgroupv2');
    expect(resolveMatch({ match: 'cgroupv2', classid: 1 }, true)).toBe('cgroupv2');
    expect(resolveMatch({ match: 'net_cls', classid: 1 }, false)).toBe('net_cls');
  });

  it('reads net_cls from /proc/cgroups (enabled column)', () => {
    const head = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\n';
    expect(parseNetClsEnabled(`${head}net_cls\t10\t1\t1\n`)).toBe(true);
    expect(parseNetClsEnabled(`${head}net_cls\t0\t1\t0\n`)).toBe(false);
    expect(parseNetClsEnabled(head)).toBe(false);
  });

  it('the level is the depth of <cgroupParent>/<profile> below the cgroup2 root', () => {
    expect(profileLevel('netcg')).toBe(2);
    expect(profileLevel('a/b/c')).toBe(4);
  });
});

describe('compile: v2 dispatch', () => {
  const config = parseConfig(V2, 'netcg.yaml');
  const ids = { unlocator: 1754n, vpn: 0x1_0000_0001n };
  const desired = compile(config, { linkRoutes: [], cgroups: { netCls: true, ids } });
  const map = (name: string) => desired.table.maps.find((m) => m.name === name);

  it('puts v2 profiles in *_dispatch_v2 maps keyed by their 64-bit ID, net_cls ones in the classid maps', () => {
    expect(desired.table.maps.map((m) => m.name)).toEqual([
      'dns_dispatch',
      'dns_dispatch_v2',
      'ipv6_dispatch_v2',
      'route_dispatch_v2',
    ]);
    expect(map('dns_dispatch_v2')).toMatchObject({ keyType: 46, keyLen: 8, flags: 8 });
    expect(map('dns_dispatch_v2')!.elements).toEqual([
      { key: hostU64(1754n), verdict: { code: 'jump', chain: 'dns_unlocator' } },
    ]);
    expect(readHostU64(map('route_dispatch_v2')!.elements[0]!.key)).toBe(0x1_0000_0001n);
  });

  it('dispatches by classid, then by socket cgroupv2 at level 2, one lookup per map', () => {
    const rules = (chain: string) =>
      desired.table.chains.find((c) => c.name === chain)!.rules.map((r) => ruleText(r.exprs));
    expect(rules('nat_output')).toEqual([
      'counter meta cgroup vmap @dns_dispatch',
      'counter socket cgroupv2 level 2 vmap @dns_dispatch_v2',
    ]);
    expect(rules('filter_output')).toEqual([
      'meta nfproto ipv6 counter socket cgroupv2 level 2 vmap @ipv6_dispatch_v2',
    ]);
    expect(rules('route_output')).toEqual(['counter socket cgroupv2 level 2 vmap @route_dispatch_v2']);
  });

  it('describes the cgroups: v2 ones without classid', () => {
    expect(desired.cgroups).toEqual([
      { profile: 'unlocator', path: 'netcg/unlocator', hierarchy: 'cgroupv2' },
      { profile: 'vpn', path: 'netcg/vpn', hierarchy: 'cgroupv2' },
      { profile: 'legacy', path: 'netcg/legacy', hierarchy: 'net_cls', classid: 42 },
    ]);
  });

  it('a v2 profile whose cgroup has no ID yet gets no element (nothing could match it)', () => {
    const none = compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: {} } });
    expect(none.table.maps.find((m) => m.name === 'dns_dispatch_v2')!.elements).toEqual([]);
  });

  it('auto profiles follow the host: all-v2 on a host without net_cls', () => {
    const seed = parseConfig('profiles:\n  a: { classid: 7, ipv6: reject }\n', 'x.yaml');
    expect(
      compile(seed, { linkRoutes: [], cgroups: { netCls: false, ids: { a: 9n } } }).table.maps.map(
        (m) => m.name,
      ),
    ).toEqual(['ipv6_dispatch_v2']);
    expect(compile(seed, { linkRoutes: [] }).table.maps.map((m) => m.name)).toEqual(['ipv6_dispatch']);
  });
});

it('the set userdata is what nft 1.0.6 sends for `typeof socket cgroupv2 level 2 : verdict`', () => {
  // Read back with the addon from a map nft created in a throwaway namespace (see src/nft/udata.ts).
  expect(cgroupV2VerdictMapUserdata().toString('hex')).toBe(
    '000401000000010400000000030e00040a000000010600040300000004080004010000000100060400000000',
  );
});
