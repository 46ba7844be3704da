// Issue 11, feature 4: profiles that match an existing cgroup (`cgroup:`, a systemd
// service or scope) in place. Config validation (errors at FILE:LINE:COL naming the
// key), the pure path helpers, compile (one dispatch lookup per level, the IDs as
// host facts, a waiting profile without elements) and the refusal of run/enroll.
import { describe, expect, it } from 'vitest';

import { cgroupPathProblem, cgroupPathWithin, globMatch } from '../../src/config/cgroup-path.js';
import { parseConfig } from '../../src/config/index.js';
import { compile } from '../../src/compile/index.js';
import { refuseExistingCgroup } from '../../src/cgroups/profile.js';
import { NetcgError } from '../../src/shared/errors.js';
import type { Expr, HostFacts, NftElement } from '../../src/shared/model.js';
import { readHostU64 } from '../../src/nft/index.js';
import { checkExistingCgroups } from '../../src/doctor/existing.js';
import type { Plan } from '../../src/plan/plan.js';
import { renderNftExport } from '../../src/render/nft-export.js';
import { renderShScript } from '../../src/render/sh.js';
import { buildStatus } from '../../src/status/build.js';
import { matchText } from '../../src/status/format.js';
import { scopeOf } from '../../src/watch/triggers.js';
import { FILE, issuesOf, onlyIssue } from '../helpers/config-issues.js';

const SERVICE = '/system.slice/transmission-daemon.service';
const SCOPES = '/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-*.scope';

describe('cgroup: in the config', () => {
  it('loads with match: cgroupv2 or without match, and needs no classid', () => {
    const c = parseConfig(
      `profiles:\n  torrent:\n    match: cgroupv2\n    cgroup: ${SERVICE}\n    ipv6: reject\n  fox:\n    cgroup: ${SCOPES}\n    dns: { redirect: 5354 }\n`,
      FILE,
    );
    expect(c.profiles.torrent).toEqual({
      name: 'torrent',
      match: 'cgroupv2',
      cgroup: SERVICE,
      ipv6: 'reject',
    });
    expect(c.profiles.fox).toEqual({ name: 'fox', cgroup: SCOPES, dns: { redirect: 5354 } });
  });

  it('refuses it on a net_cls profile, naming the cgroup key', () => {
    const msg = onlyIssue(
      `profiles:\n  t:\n    match: net_cls\n    cgroup: ${SERVICE}\n    ipv6: reject\n`,
      4,
      5,
      'profiles.t.cgroup',
    );
    expect(msg).toMatch(/match: net_cls cannot do.*set match: cgroupv2/);
  });

  it('refuses a relative path, "..", ".", "//" and the root', () => {
    for (const [path, re] of [
      ['system.slice/x.service', /is relative/],
      ['/system.slice/../x.service', /contains "\.\."/],
      ['/./x.service', /contains "\."/],
      ['/system.slice//x.service', /empty component/],
      ['/', /root cgroup/],
    ] as const) {
      const msg = onlyIssue(
        `profiles:\n  t:\n    cgroup: ${path}\n    ipv6: reject\n`,
        3,
        13,
        'profiles.t.cgroup',
      );
      expect(msg).toMatch(re);
    }
  });

  it('refuses owner and classid next to it, at their keys', () => {
    const issues = issuesOf(
      `profiles:\n  t:\n    cgroup: ${SERVICE}\n    owner: md\n    classid: 7\n    ipv6: reject\n`,
    );
    expect(issues.map((i) => [i.path, i.line, i.col])).toEqual([
      ['profiles.t.owner', 4, 5],
      ['profiles.t.classid', 5, 5],
    ]);
    expect(issues[0]!.message).toMatch(/membership is the service's.*remove owner/);
    expect(issues[1]!.message).toMatch(/remove classid/);
  });

  it('refuses a cgroup inside (or around) cgroupParent, and two profiles whose cgroups overlap', () => {
    expect(
      onlyIssue(
        `cgroupParent: netcg\nprofiles:\n  t:\n    cgroup: /netcg/x\n    ipv6: reject\n`,
        4,
        13,
        'profiles.t.cgroup',
      ),
    ).toMatch(/overlaps \/netcg, the cgroupParent/);
    expect(
      onlyIssue(
        `profiles:\n  a:\n    cgroup: /a.slice/*.service\n    ipv6: reject\n  b:\n    cgroup: /a.slice/x.service/sub\n    ipv6: reject\n`,
        6,
        13,
        'profiles.b.cgroup',
      ),
    ).toMatch(/overlaps \/a\.slice\/\*\.service of profile "a"/);
  });
});

describe('cgroup path helpers', () => {
  it('globs match within one component', () => {
    expect(globMatch('app-firefox-*.scope', 'app-firefox-1234.scope')).toBe(true);
    expect(globMatch('app-firefox-*.scope', 'app-chromium-1.scope')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a.c', 'abc')).toBe(false); // '.' is literal
    expect(cgroupPathProblem('/a/b*')).toBeUndefined();
  });

  it('within: a pattern around another, literal against glob, different globs disjoint', () => {
    expect(cgroupPathWithin(['a'], ['a', 'b'])).toBe(true);
    expect(cgroupPathWithin(['a', 'x-*'], ['a', 'x-1', 'c'])).toBe(true);
    expect(cgroupPathWithin(['a', 'x-*'], ['a', 'y-*'])).toBe(false);
    expect(cgroupPathWithin(['a', 'b'], ['a'])).toBe(false);
  });
});

function chainOf(e: NftElement): string | undefined {
  return e.verdict && 'chain' in e.verdict ? e.verdict.chain : undefined;
}

function dispatchRules(text: string, facts: HostFacts) {
  const d = compile(parseConfig(text, FILE), facts);
  const levels = (chain: string) =>
    d.table.chains
      .find((c) => c.name === chain)!
      .rules.map(
        (r) => (r.exprs.find((e) => e.type === 'socket') as Extract<Expr, { type: 'socket' }>)?.level,
      );
  return { d, levels };
}

describe('compile', () => {
  const text = `cgroupParent: netcg\nprofiles:\n  own:\n    match: cgroupv2\n    dns: { redirect: 5353 }\n  svc:\n    cgroup: ${SERVICE}\n    dns: { redirect: 5354 }\n  fox:\n    cgroup: ${SCOPES}\n    dns: { redirect: 5355 }\n`;
  const facts: HostFacts = {
    linkRoutes: [],
    cgroups: {
      netCls: true,
      ids: { own: 100n },
      existing: {
        svc: [{ path: SERVICE, id: 200n }],
        fox: [
          { path: SCOPES.replace('*', '1'), id: 300n },
          { path: SCOPES.replace('*', '2'), id: 301n },
        ],
      },
    },
  };

  it('one element per matched cgroup, one lookup per level (deepest first), nothing created', () => {
    const { d, levels } = dispatchRules(text, facts);
    const map = d.table.maps.find((m) => m.name === 'dns_dispatch_v2')!;
    expect(map.elements.map((e) => [readHostU64(e.key), chainOf(e)])).toEqual([
      [100n, 'dns_own'],
      [200n, 'dns_svc'],
      [300n, 'dns_fox'],
      [301n, 'dns_fox'],
    ]);
    expect(levels('nat_output')).toEqual([5, 2]);
    expect(d.cgroups.filter((c) => c.existing)).toEqual([
      { profile: 'svc', path: SERVICE.slice(1), hierarchy: 'cgroupv2', existing: true },
      { profile: 'fox', path: SCOPES.slice(1), hierarchy: 'cgroupv2', existing: true },
    ]);
  });

  it('a waiting profile (no cgroup matches yet) has its chains and dispatch rule but no element', () => {
    const { d, levels } = dispatchRules(text, {
      linkRoutes: [],
      cgroups: { netCls: true, ids: { own: 100n } },
    });
    const map = d.table.maps.find((m) => m.name === 'dns_dispatch_v2')!;
    expect(map.elements.map((e) => chainOf(e))).toEqual(['dns_own']);
    expect(d.table.chains.map((c) => c.name)).toEqual(expect.arrayContaining(['dns_svc', 'dns_fox']));
    expect(levels('nat_output')).toEqual([5, 2]);
  });

  it('a cgroup two patterns match gets one element: the first profile in config order', () => {
    const shared = { path: SERVICE, id: 200n };
    const { d } = dispatchRules(text, {
      linkRoutes: [],
      cgroups: { netCls: true, ids: {}, existing: { svc: [shared], fox: [shared] } },
    });
    const map = d.table.maps.find((m) => m.name === 'dns_dispatch_v2')!;
    expect(map.elements.map((e) => chainOf(e))).toEqual(['dns_svc']);
  });

  it('composes with the other features through the same verdict maps', () => {
    const { d } = dispatchRules(
      `profiles:\n  svc:\n    cgroup: ${SERVICE}\n    ipv6: reject\n    route: { via: tun0, table: 100 }\n    proxy: { tcp: 9040, udp: reject }\n  off:\n    cgroup: /system.slice/y.service\n    network: offline\n`,
      { linkRoutes: [], cgroups: { netCls: true, ids: {}, existing: { svc: [{ path: SERVICE, id: 7n }] } } },
    );
    expect(d.table.maps.map((m) => [m.name, m.elements.length])).toEqual([
      ['ipv6_dispatch_v2', 1],
      ['route_dispatch_v2', 1],
      ['offline_dispatch_v2', 0],
      ['proxy_dispatch_v2', 1],
      ['udp_dispatch_v2', 1],
    ]);
    expect(d.ipRules.map((r) => r.table)).toEqual([100, 100]);
  });
});

describe('run, enroll and leave', () => {
  it('refuse an existing-cgroup profile with a clear error', () => {
    const config = parseConfig(`profiles:\n  svc:\n    cgroup: ${SERVICE}\n    ipv6: reject\n`, FILE);
    let err: unknown;
    try {
      refuseExistingCgroup(config, 'svc', 'run a program in it');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetcgError);
    expect((err as NetcgError).code).toBe('EEXISTINGCGROUP');
    expect((err as Error).message).toMatch(
      /existing cgroup \/system\.slice\/transmission-daemon\.service.*systemd-run/,
    );
  });
});

describe('export, status and doctor', () => {
  const text = `profiles:\n  svc:\n    cgroup: ${SERVICE}\n    ipv6: reject\n  fox:\n    cgroup: ${SCOPES}\n    dns: { redirect: 5354 }\n`;
  const config = parseConfig(text, FILE);
  const existing = { svc: [{ path: SERVICE, id: 9n }], fox: [{ path: SCOPES.replace('*', '1'), id: 11n }] };
  const facts: HostFacts = { linkRoutes: [], cgroups: { netCls: true, ids: {}, existing } };
  const roots = { netCls: '/sys/fs/cgroup/net_cls', cgroup2: '/sys/fs/cgroup/unified' };

  it('sh: no mkdir, a literal path matched as it is, a glob as each cgroup it matched', () => {
    const sh = renderShScript({ config, desired: compile(config, facts), roots, existing });
    expect(sh).not.toMatch(/mkdir .*transmission/);
    expect(sh).toContain(`ip6tables -A OUTPUT -m cgroup --path ${SERVICE.slice(1)} -j REJECT`);
    expect(sh).toContain(`-m cgroup --path ${SCOPES.slice(1).replace('*', '1')} -p udp --dport 53`);
    expect(sh).not.toContain('app-firefox-*.scope -p');
  });

  it('nft: the cgroups listed as existing, matched in place', () => {
    // Without matches: an element would be named by walking the real cgroup tree (the kernel round trip's job).
    const nft = renderNftExport({
      config,
      desired: compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: {} } }),
      roots,
    });
    expect(nft).toContain(
      `#   /sys/fs/cgroup/unified/${SERVICE.slice(1)}  (existing cgroup, matched in place by ID`,
    );
  });

  it('status: the matched cgroups, or waiting', () => {
    const s = buildStatus({
      config,
      table: undefined,
      plan: { nft: [], rtnl: [], changes: [] } as unknown as Plan,
      links: [],
      cgroups: {
        svc: { match: 'cgroupv2', dir: `/cg${SERVICE}`, members: 1, existing: existing.svc },
        fox: { match: 'cgroupv2', dir: `/cg${SCOPES}`, members: 0, existing: [] },
      },
      time: 0,
    });
    expect(s.profiles.map((p) => p.match)).toEqual([
      { kind: 'cgroupv2', cgroup: `/cg${SERVICE}`, existing: [{ path: SERVICE, id: '9' }] },
      { kind: 'cgroupv2', cgroup: `/cg${SCOPES}`, existing: [], waiting: true },
    ]);
    expect(matchText(s.profiles[1]!)).toBe('waiting for /app-firefox-*.scope');
  });

  it('doctor: ok per matching profile, a warning for a waiting one', () => {
    const findings = checkExistingCgroups(Object.values(config.profiles), { svc: existing.svc, fox: [] });
    expect(findings.map((f) => [f.check, f.level])).toEqual([
      ['existing-cgroup', 'ok'],
      ['existing-cgroup', 'warn'],
    ]);
    expect(findings[1]!.message).toMatch(/profile fox is waiting: no cgroup matches/);
  });
});

describe('watch scope', () => {
  it('keeps existing cgroups apart from the profile cgroups whose parent it watches', () => {
    const config = parseConfig(
      `cgroupParent: netcg\nprofiles:\n  own:\n    match: cgroupv2\n    ipv6: reject\n  svc:\n    cgroup: ${SERVICE}\n    ipv6: reject\n`,
      FILE,
    );
    const scope = scopeOf(config, compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: {} } }));
    expect([...scope.cgroupsV2]).toEqual([['own', 'netcg/own']]);
    expect([...scope.existing]).toEqual([['svc', SERVICE]]);
  });
});
