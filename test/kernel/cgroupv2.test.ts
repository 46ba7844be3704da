// cgroup v2 profiles against the kernel: the netlink backend lists exactly as the
// nft backend (the oracle) for `match: cgroupv2` profiles; apply reports what it
// chose; a profile cgroup deleted and re-created (new ID) shows as a stale map
// element in diff and is repaired by apply; down removes the cgroup2 cgroups.
// Namespaces and cgroups are throwaway and removed in afterAll.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff, down } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { NftBackend } from '../../src/backends/nft.js';
import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { buildTopology, type Topology } from '../testbed/topology.js';
import { benchConfig } from '../testbed/config.js';
import { addon } from '../../src/native/index.js';
import { isEmptyPlan } from '../../src/plan/plan.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';

const root = findCgroup2()!;
let cfg: TempConfig;
let config: Config;
let viaNetlink: Topology;
let viaNft: Topology;

function withNetlink<T>(topo: Topology, fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(topo.host.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

beforeAll(() => {
  // benchConfig with match: cgroupv2 (no classid); tempConfig gives it a unique table and cgroupParent.
  cfg = tempConfig(benchConfig({ table: 'x', cgroupParent: 'x' }, 'cgroupv2').replace(/^#.*\n/, ''), 'v2');
  config = loadConfig(cfg.file);
  viaNetlink = buildTopology('v2n');
  viaNft = buildTopology('v2f');
});

afterAll(() => {
  try {
    for (const topo of [viaNetlink, viaNft]) if (topo) withNetlink(topo, (b) => down(config, b));
  } finally {
    viaNetlink?.remove();
    viaNft?.remove();
    cfg?.remove();
  }
  expect(existsSync(join(root, cfg.cgroupParent))).toBe(false);
});

describe('match: cgroupv2', () => {
  it('apply creates <cgroup2>/<parent>/<profile> and reports the choice with the ID it matches', () => {
    const report = withNetlink(viaNetlink, (b) => apply(config, b));
    const dir = join(root, cfg.cgroupParent, 'unlocator');
    expect(report.matches).toEqual([
      {
        profile: 'unlocator',
        requested: 'cgroupv2',
        match: 'cgroupv2',
        cgroup: dir,
        id: addon.cgroupId(dir).toString(),
      },
      {
        profile: 'vpn',
        requested: 'cgroupv2',
        match: 'cgroupv2',
        cgroup: join(root, cfg.cgroupParent, 'vpn'),
        id: addon.cgroupId(join(root, cfg.cgroupParent, 'vpn')).toString(),
      },
    ]);
    expect(report.cgroup2).toBe(root);
    expect(report.netCls).toBeUndefined();
  });

  it('nft lists the v2 maps and rules as a person would write them, with elements by cgroup path', () => {
    const text = viaNetlink.host.nft('list', 'table', 'inet', cfg.table);
    const rel = `${root.replace(/^\/sys\/fs\/cgroup\/?/, '')}${root === '/sys/fs/cgroup' ? '' : '/'}${cfg.cgroupParent}`;
    expect(text).toContain('map dns_dispatch_v2 {');
    // nft 1.0.6 keeps no level in the map's userdata, so its typeof line says level 0 (see src/nft/udata.ts).
    expect(text).toMatch(/typeof socket cgroupv2 level \d+ : verdict/);
    expect(text).toContain(`elements = { "${rel}/unlocator" : jump dns_unlocator }`);
    // Counters: any value — the kernel's own IPv6 (router solicitations, MLD) may pass the output chain already.
    expect(text).toMatch(/counter packets \d+ bytes \d+ socket cgroupv2 level 2 vmap @dns_dispatch_v2/);
    expect(text).toMatch(
      /meta nfproto ipv6 counter packets \d+ bytes \d+ socket cgroupv2 level 2 vmap @ipv6_dispatch_v2/,
    );
    expect(text).not.toContain('meta cgroup');
  });

  it('the nft backend (nft -f with elements by path) installs the same table (oracle)', () => {
    apply(config, new NftBackend(viaNft.host.path));
    expect(viaNetlink.host.nft('-s', 'list', 'table', 'inet', cfg.table)).toBe(
      viaNft.host.nft('-s', 'list', 'table', 'inet', cfg.table),
    );
  });

  it('a second apply changes nothing', () => {
    expect(withNetlink(viaNetlink, (b) => apply(config, b)).changed).toBe(false);
  });

  it('a deleted and re-created profile cgroup (new ID) is a stale element in diff, and apply repairs it', () => {
    const dir = join(root, cfg.cgroupParent, 'vpn');
    const before = addon.cgroupId(dir);
    rmdirSync(dir);
    mkdirSync(dir);
    const after = addon.cgroupId(dir);
    expect(after).not.toBe(before);

    const d = withNetlink(viaNetlink, (b) => diff(config, b));
    const elementOps = d.plan.nft.filter((op) => op.object === 'element');
    expect(elementOps.map((op) => op.verb).sort()).toEqual(['add', 'delete']);
    expect(JSON.stringify(elementOps)).toContain('route_dispatch_v2');

    const fixed = withNetlink(viaNetlink, (b) => apply(config, b));
    expect(fixed.changed).toBe(true);
    expect(fixed.matches.find((m) => m.profile === 'vpn')!.id).toBe(after.toString());
    expect(isEmptyPlan(withNetlink(viaNetlink, (b) => diff(config, b)).plan)).toBe(true);
    expect(viaNetlink.host.nft('list', 'map', 'inet', cfg.table, 'route_dispatch_v2')).toContain(
      `/${cfg.cgroupParent}/vpn" : jump route_vpn`,
    );
  });

  it('down removes the cgroup2 profile cgroups and their parent', () => {
    const r = withNetlink(viaNetlink, (b) => down(config, b));
    expect(r.cgroups.map((c) => c.action)).toEqual(['removed', 'removed']);
    expect(existsSync(join(root, cfg.cgroupParent))).toBe(false);
  });
});
