// Scenario 7: bad input gets a clear error naming the file, line and key, and the
// kernel is unchanged afterwards — no table, rule, route or cgroup appears. Also a
// config that is valid but cannot be applied here (a missing or down interface)
// changes nothing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findNetCls } from '../../src/cgroups/netcls.js';
import { runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { buildTopology, type Topology } from '../helpers/topology.js';

let topo: Topology;
const made: TempConfig[] = [];

function kernelSnapshot() {
  const { host } = topo;
  return [
    host.nft('-s', 'list', 'ruleset'), // stateless: counters move with background IPv6 traffic
    host.ip('-4', 'rule', 'show'),
    host.ip('-6', 'rule', 'show'),
    host.ip('-4', 'route', 'show', 'table', 'all'),
    host.ip('-6', 'route', 'show', 'table', 'all'),
  ].join('\n--\n');
}

beforeAll(() => {
  topo = buildTopology('ncb');
  // Something foreign to stay untouched, so "unchanged" is not trivially "empty".
  topo.host.run(
    'nft',
    ['-f', '-'],
    'table inet other {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    counter\n  }\n}\n',
  );
});

afterAll(() => {
  topo?.remove();
  for (const c of made) c.remove();
});

const GOOD_VPN = '  vpn:\n    classid: 43\n    route: { via: tun0 }\n';

// [what, yaml body, line, col, key path, words the message must contain]
const cases: Array<[string, string, number, number, string, RegExp]> = [
  [
    'an unknown key',
    `profiles:\n${GOOD_VPN}    ipv7: reject\n`,
    7,
    5,
    'profiles.vpn.ipv7',
    /unknown key "ipv7"; did you mean "ipv6"/,
  ],
  [
    'a port out of range',
    `profiles:\n  dns:\n    classid: 42\n    dns: { redirect: 65536 }\n`,
    6,
    22,
    'profiles.dns.dns.redirect',
    /out of range/,
  ],
  [
    'a duplicate classid',
    `profiles:\n${GOOD_VPN}  other:\n    classid: 43\n    ipv6: reject\n`,
    8,
    14,
    'profiles.other.classid',
    /already used by profile "vpn"/,
  ],
  [
    'classid 0',
    `profiles:\n  p:\n    classid: 0\n    ipv6: reject\n`,
    5,
    14,
    'profiles.p.classid',
    /classid 0/,
  ],
  [
    'a profile name that is no cgroup directory name',
    `profiles:\n  "a/b":\n    classid: 42\n    ipv6: reject\n`,
    4,
    3,
    'profiles.a/b',
    /cgroup directory/,
  ],
  [
    'an interface name over 15 bytes',
    `profiles:\n  v:\n    classid: 42\n    route: { via: averyverylongifname }\n`,
    6,
    19,
    'profiles.v.route.via',
    /15/,
  ],
  [
    'a missing via',
    `profiles:\n  v:\n    classid: 42\n    route: { table: 100 }\n`,
    6,
    5,
    'profiles.v.route.via',
    /"via" is missing/,
  ],
];

describe('bad configs: located errors, kernel untouched', () => {
  it.each(cases)('%s', (_what, body, line, col, path, words) => {
    const cfg = tempConfig(body, 'ncb');
    made.push(cfg);
    const before = kernelSnapshot();
    const r = runCli(['apply', '-c', cfg.file, '--netns', topo.host.path]);
    expect(r.code).toBe(1);
    // Lines count from the top of the file: tempConfig puts `table:` and `cgroupParent:` lines on top of the body.
    expect(r.stderr).toContain(`${cfg.file}:${line}:${col}: ${path}: `);
    expect(r.stderr).toMatch(words);
    expect(kernelSnapshot()).toBe(before);
    const root = findNetCls();
    if (root) expect(existsSync(join(root, cfg.cgroupParent))).toBe(false);
  });

  it('--json gives the same issues as data', () => {
    const cfg = tempConfig(cases[0]![1], 'ncb');
    made.push(cfg);
    const r = runCli(['apply', '-c', cfg.file, '--netns', topo.host.path, '--json']);
    expect(r.code).toBe(1);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('ECONFIG');
    expect(err.issues).toEqual([
      expect.objectContaining({ file: cfg.file, line: 7, col: 5, path: 'profiles.vpn.ipv7' }),
    ]);
  });
});

describe('valid configs that cannot be applied here change nothing', () => {
  it('a via interface that does not exist: ENODEV before any change', () => {
    const cfg = tempConfig(
      'profiles:\n  v:\n    classid: 44\n    route: { via: wg7 }\n  d:\n    classid: 45\n    ipv6: reject\n',
      'ncb',
    );
    made.push(cfg);
    const before = kernelSnapshot();
    const r = runCli(['apply', '-c', cfg.file, '--netns', topo.host.path]);
    expect(r.code).toBe(1);
    // The error names where `via` is written: FILE:LINE:COL of the value.
    const line =
      readFileSync(cfg.file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('via: wg7')) + 1;
    expect(r.stderr).toContain(
      `interface wg7 does not exist in the target network namespace; needed by profile v (${cfg.file}:${line}:19: route.via: wg7)`,
    );
    expect(kernelSnapshot()).toBe(before);
    const root = findNetCls();
    if (root) expect(existsSync(join(root, cfg.cgroupParent, 'd'))).toBe(false);
  });

  it('a kernel refusal midway (routes through a down interface) is rolled back: no rule, route, table or new cgroup remains', () => {
    const cfg = tempConfig(
      'profiles:\n  d:\n    classid: 46\n    ipv6: reject\n  v:\n    classid: 47\n    route: { via: tun0, copyLinkRoutes: true }\n',
      'ncb',
    );
    made.push(cfg);
    topo.host.ip('link', 'set', 'tun0', 'down');
    try {
      const before = kernelSnapshot();
      const r = runCli(['apply', '-c', cfg.file, '--netns', topo.host.path, '--json']);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'ENETDOWN' });
      expect(kernelSnapshot()).toBe(before);
      const root = findNetCls();
      // neither the profile cgroups nor the parent directory this apply created remain
      if (root) expect(existsSync(join(root, cfg.cgroupParent))).toBe(false);
    } finally {
      topo.host.ip('link', 'set', 'tun0', 'up');
    }
  });
});
