// Numbers netcg picks, against the kernel: routing cgroup v2 profiles without
// classid, table or mark keep their table and mark while other profiles come and
// go, and a table a foreign route already uses in the namespace is never chosen.
// One throwaway namespace with veth pairs; config, cgroups and namespace removed
// in afterAll even when a test fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff, down, type PickedNumbers } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { allocationKey, candidate, loadConfig } from '../../src/config/index.js';
import { collectStatus } from '../../src/status/index.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
const configs: TempConfig[] = [];
const DEVS = ['va', 'vb', 'vc', 'vd'] as const;

function profiles(names: readonly string[]): string {
  const body = names.map((n) => `  ${n}:\n    match: cgroupv2\n    route: { via: v${n} }\n`).join('');
  return names.length === 0 ? 'profiles: {}\n' : `profiles:\n${body}`;
}

/** A config with the given profiles (a: via va, ...), under one shared table/cgroupParent. */
function configWith(names: readonly string[]) {
  const first = configs[0];
  const cfg = tempConfig(profiles(names), 'num');
  configs.push(cfg);
  if (!first) return loadConfig(cfg.file);
  // Same nft table and cgroup parent as the first config: one netcg install, edited.
  const c = loadConfig(cfg.file);
  return { ...c, table: first.table, cgroupParent: first.cgroupParent };
}

function withBackend<T>(fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(ns.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

function byProfile(numbers: PickedNumbers[]): Record<string, [number, number]> {
  return Object.fromEntries(numbers.map((n) => [n.profile, [n.table, n.mark]]));
}

beforeAll(() => {
  ns = createNetns('ncnum');
  for (const d of DEVS) {
    ns.ip('link', 'add', d, 'type', 'veth', 'peer', 'name', `${d}p`);
    ns.ip('link', 'set', d, 'up');
    ns.ip('link', 'set', `${d}p`, 'up');
  }
});

afterAll(() => {
  try {
    if (configs[0]) withBackend((b) => down(configWith([]), b));
  } finally {
    ns?.remove();
    for (const c of configs) c.remove();
  }
});

describe('numbers netcg picks', () => {
  it('two profiles, a third added, the first removed: the remaining keep table and mark', () => {
    const two = withBackend((b) => apply(configWith(['a', 'b']), b));
    const first = byProfile(two.numbers);
    expect(Object.keys(first)).toEqual(['a', 'b']);
    expect(first.a![0]).not.toBe(first.b![0]);
    for (const [table, mark] of Object.values(first)) {
      expect(table).toBe(mark);
      expect(ns.ip('rule', 'show')).toContain(`fwmark 0x${mark.toString(16)} lookup ${table}`);
      expect(ns.ip('route', 'show', 'table', String(table))).toMatch(/^default dev v[ab] proto 110/m);
    }

    const three = byProfile(withBackend((b) => apply(configWith(['a', 'b', 'c']), b)).numbers);
    expect(three.a).toEqual(first.a);
    expect(three.b).toEqual(first.b);

    const later = withBackend((b) => apply(configWith(['b', 'c']), b));
    const last = byProfile(later.numbers);
    expect(last.b).toEqual(first.b);
    expect(last.c).toEqual(three.c);
    const rules = ns.ip('rule', 'show');
    expect(rules).not.toContain(`lookup ${first.a![0]}`);
    expect(rules).toContain(`lookup ${last.c![0]}`);

    // diff and status report the same numbers, and nothing is left to do.
    const d = withBackend((b) => diff(configWith(['b', 'c']), b));
    expect(d.plan.changes).toEqual([]);
    const status = withBackend((b) => collectStatus(configWith(['b', 'c']), b));
    expect(
      status.profiles.map((p) => [p.name, p.features.route?.table, p.features.route?.allocated]),
    ).toEqual([
      ['b', last.b![0], true],
      ['c', last.c![0], true],
    ]);
  });

  it('a table a foreign route uses in the namespace is never chosen, and the foreign route stays', () => {
    const key = allocationKey({ via: 'vd', copyLinkRoutes: true, failClosed: true, masquerade: true });
    const busy = candidate(key, 0);
    ns.ip('route', 'add', '198.18.77.0/24', 'dev', 'vdp', 'table', String(busy));
    const config = configWith(['b', 'c', 'd']);
    // Without the host, the loader's choice is the first candidate.
    expect(config.profiles.d!.route!.table).toBe(busy);

    const report = withBackend((b) => apply(config, b));
    const d = byProfile(report.numbers).d!;
    expect(d[0]).not.toBe(busy);
    expect(d).toEqual([candidate(key, 1), candidate(key, 1)]);
    expect(ns.ip('route', 'show', 'table', String(busy))).toContain('198.18.77.0/24 dev vdp');
    expect(ns.ip('rule', 'show')).not.toContain(`lookup ${busy} `);
    expect(withBackend((b) => diff(config, b)).plan.changes).toEqual([]);
  });
});
