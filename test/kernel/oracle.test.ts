// The oracle: the netlink backend (the addon, no process spawned) must leave the
// kernel in exactly the state the distribution's own tools produce from the same
// desired state — compared as the text `nft list` and `ip` print.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, down } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { NftBackend } from '../../src/backends/nft.js';
import { loadConfig } from '../../src/config/index.js';
import { buildTopology, type Topology } from '../testbed/topology.js';
import { seedText, tempConfig, type TempConfig } from '../helpers/config.js';

describe('netlink backend vs nft backend (oracle) on examples/seed.yaml', () => {
  let viaNetlink: Topology;
  let viaNft: Topology;
  let cfg: TempConfig;

  beforeAll(() => {
    cfg = tempConfig(seedText().replace(/^\s*owner:.*\n/m, ''), 'or');
    viaNetlink = buildTopology('orn');
    viaNft = buildTopology('orf');
    const config = loadConfig(cfg.file);
    const nl = new NetlinkBackend(viaNetlink.host.path);
    try {
      apply(config, nl);
    } finally {
      nl.close();
    }
    apply(config, new NftBackend(viaNft.host.path));
  });

  afterAll(() => {
    try {
      const config = loadConfig(cfg.file);
      down(config, new NftBackend(viaNft.host.path));
    } finally {
      viaNetlink?.remove();
      viaNft?.remove();
      cfg?.remove();
    }
  });

  it('installs the same nft table', () => {
    const a = viaNetlink.host.nft('-s', 'list', 'table', 'inet', cfg.table);
    const b = viaNft.host.nft('-s', 'list', 'table', 'inet', cfg.table);
    expect(a).toContain('meta cgroup vmap @dns_dispatch');
    expect(a).toBe(b);
  });

  it.each([
    ['-4', 'rule', 'show'],
    ['-6', 'rule', 'show'],
    ['-4', 'route', 'show', 'table', '43'],
    ['-6', 'route', 'show', 'table', '43'],
  ])('ip %s %s %s … matches', (...args: string[]) => {
    const a = viaNetlink.host.ip(...args);
    const b = viaNft.host.ip(...args);
    expect(a).not.toBe('');
    expect(a).toBe(b);
  });

  it('tags its ip rules and routes with protocol 110 and routes via tun0', () => {
    expect(viaNetlink.host.ip('rule', 'show')).toMatch(/fwmark 0x2b lookup 43 proto 110/);
    expect(viaNetlink.host.ip('route', 'show', 'table', '43')).toMatch(/^default dev tun0 proto 110/m);
  });
});
