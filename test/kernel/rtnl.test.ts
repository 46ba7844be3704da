// rtnetlink through the addon, against the real kernel in a throwaway namespace.
// Every change is checked against what `ip` prints in that namespace, so the
// encoders are judged by the kernel's own view, not by our decoder alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkError } from '../../src/native/errors.js';
import { openHandle } from '../../src/native/index.js';
import type { NetlinkHandle, RtRoute, RtRule } from '../../src/native/types.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const NETCG_PROTO = 110;

let ns: Netns;
let h: NetlinkHandle;

beforeAll(() => {
  ns = createNetns('ncrtnl');
  h = openHandle(ns.path);
});

afterAll(() => {
  try {
    h?.close();
  } finally {
    ns?.remove();
  }
});

/** `ip rule` lines with the tab after the priority normalised to one space. */
function ipRules(family: 4 | 6): string[] {
  const out = family === 6 ? ns.ip('-6', 'rule') : ns.ip('rule');
  return out
    .trim()
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim());
}

function ipRoutes(family: 4 | 6, table: number): string[] {
  const out = ns.ip(...(family === 6 ? ['-6'] : []), 'route', 'show', 'table', String(table));
  return out
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('ip rules', () => {
  it('adds, dumps and deletes a v4 fwmark rule with netcg protocol', () => {
    const before = ipRules(4);
    const rule: RtRule = { family: 4, priority: 1000, table: 43, fwmark: 43, protocol: NETCG_PROTO };
    h.ruleAdd(rule);
    expect(ipRules(4)).toContain('1000: from all fwmark 0x2b lookup 43 proto 110');
    // The kernel fills in the full mask for a mark given without one.
    expect(h.ruleDump(4)).toContainEqual({ ...rule, fwmask: 0xffffffff, action: 'to_tbl' });
    h.ruleDel(rule);
    expect(ipRules(4)).toEqual(before);
    expect(h.ruleDump(4).some((r) => r.priority === 1000)).toBe(false);
  });

  it('handles fwmark/mask and a table above 255', () => {
    const rule: RtRule = {
      family: 4,
      priority: 1001,
      table: 100043,
      fwmark: 0x100,
      fwmask: 0xff00,
      protocol: NETCG_PROTO,
    };
    h.ruleAdd(rule);
    try {
      expect(ipRules(4)).toContain('1001: from all fwmark 0x100/0xff00 lookup 100043 proto 110');
      expect(h.ruleDump(4)).toContainEqual({ ...rule, action: 'to_tbl' });
    } finally {
      h.ruleDel(rule);
    }
    expect(ipRules(4).some((l) => l.startsWith('1001:'))).toBe(false);
  });

  it('adds and deletes a v6 rule, and a v4 dump does not show it', () => {
    const before = ipRules(6);
    const rule: RtRule = { family: 6, priority: 1002, table: 44, fwmark: 44, protocol: NETCG_PROTO };
    h.ruleAdd(rule);
    expect(ipRules(6)).toContain('1002: from all fwmark 0x2c lookup 44 proto 110');
    expect(h.ruleDump(6)).toContainEqual({ ...rule, fwmask: 0xffffffff, action: 'to_tbl' });
    expect(h.ruleDump(4).some((r) => r.priority === 1002)).toBe(false);
    h.ruleDel(rule);
    expect(ipRules(6)).toEqual(before);
  });

  it('decodes the kernel default rules', () => {
    const defaults = h.ruleDump(4).filter((r) => r.priority === 0 || r.priority! >= 32766);
    expect(defaults).toEqual([
      { family: 4, priority: 0, table: 255, protocol: 2, action: 'to_tbl' },
      { family: 4, priority: 32766, table: 254, protocol: 2, action: 'to_tbl' },
      { family: 4, priority: 32767, table: 253, protocol: 2, action: 'to_tbl' },
    ]);
  });

  it('refuses a duplicate with EEXIST as a NetlinkError', () => {
    const rule: RtRule = { family: 4, priority: 1003, table: 43, fwmark: 7, protocol: NETCG_PROTO };
    h.ruleAdd(rule);
    try {
      const err = thrown(() => h.ruleAdd(rule));
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ code: 'EEXIST', errno: 17, op: 'rtnl.rule.add' });
      expect(ipRules(4).filter((l) => l.startsWith('1003:'))).toHaveLength(1);
    } finally {
      h.ruleDel(rule);
    }
  });

  it('a delete carrying netcg protocol leaves a foreign rule alone', () => {
    // A foreign rule identical except for priority and protocol, listed first.
    ns.ip('rule', 'add', 'pref', '2000', 'fwmark', '45', 'table', '45', 'proto', 'static');
    try {
      const foreignLine = '2000: from all fwmark 0x2d lookup 45 proto static';
      h.ruleAdd({ family: 4, priority: 2001, table: 45, fwmark: 45, protocol: NETCG_PROTO });
      const withBoth = ipRules(4);
      expect(withBoth).toContain(foreignLine);
      expect(withBoth).toContain('2001: from all fwmark 0x2d lookup 45 proto 110');

      // No priority given: the kernel searches by the other fields, protocol included.
      h.ruleDel({ family: 4, table: 45, fwmark: 45, protocol: NETCG_PROTO });
      expect(ipRules(4)).toEqual(withBoth.filter((l) => !l.startsWith('2001:')));

      // Nothing of ours is left, so a second delete finds nothing and the foreign rule stays.
      const err = thrown(() => h.ruleDel({ family: 4, table: 45, fwmark: 45, protocol: NETCG_PROTO }));
      expect(err).toMatchObject({ code: 'ENOENT', op: 'rtnl.rule.del' });
      expect(ipRules(4)).toContain(foreignLine);
    } finally {
      ns.ip('rule', 'del', 'pref', '2000');
    }
  });

  it('names the field of malformed input', () => {
    const bad = { family: 5, table: 1 } as unknown as RtRule;
    expect(thrown(() => h.ruleAdd(bad))).toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('rule.family'),
    });
    const badAction = { family: 4, table: 1, action: 'jump' } as unknown as RtRule;
    expect(thrown(() => h.ruleAdd(badAction))).toMatchObject({
      message: expect.stringContaining('rule.action'),
    });
  });
});

describe('links and routes', () => {
  let vethIndex = 0;
  const TABLE = 1043;

  beforeAll(() => {
    ns.ip('link', 'add', 'nct0', 'type', 'veth', 'peer', 'name', 'nct1');
    ns.ip('link', 'set', 'nct0', 'up');
    ns.ip('link', 'set', 'nct1', 'up');
    ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'nct0');
    vethIndex = Number(/^(\d+):/.exec(ns.ip('-o', 'link', 'show', 'nct0'))![1]);
  });

  it('linkDump lists the veth with its index, name and kind', () => {
    const links = h.linkDump();
    expect(links.find((l) => l.name === 'nct0')).toMatchObject({
      index: vethIndex,
      name: 'nct0',
      up: true,
      mtu: 1500,
      kind: 'veth',
    });
    expect(links.find((l) => l.name === 'lo')).toMatchObject({ index: 1, up: true, mtu: 65536 });
    expect(links.find((l) => l.name === 'lo')!.kind).toBeUndefined();
  });

  it('adds v4 routes in a table above 255 and dumps them back', () => {
    const dflt: RtRoute = {
      family: 4,
      table: TABLE,
      dst: '0.0.0.0',
      dstLen: 0,
      oif: vethIndex,
      protocol: NETCG_PROTO,
    };
    const link: RtRoute = {
      family: 4,
      table: TABLE,
      dst: '198.51.100.0',
      dstLen: 24,
      oif: vethIndex,
      scope: 253,
      protocol: NETCG_PROTO,
    };
    const viaGw: RtRoute = {
      family: 4,
      table: TABLE,
      dst: '198.51.100.128',
      dstLen: 25,
      oif: vethIndex,
      gateway: '198.18.0.2',
      prefsrc: '198.18.0.1',
      priority: 7,
      protocol: NETCG_PROTO,
    };
    h.routeAdd(dflt);
    h.routeAdd(link);
    h.routeAdd(viaGw);
    try {
      expect(ipRoutes(4, TABLE)).toEqual([
        'default dev nct0 proto 110 scope link',
        '198.51.100.0/24 dev nct0 proto 110 scope link',
        '198.51.100.128/25 via 198.18.0.2 dev nct0 proto 110 src 198.18.0.1 metric 7',
      ]);
      const dumped = h.routeDump(4, TABLE);
      expect(dumped).toEqual([
        { ...dflt, scope: 253, type: 1 },
        { ...link, type: 1 },
        { ...viaGw, scope: 0, type: 1 },
      ]);
      // The table filter is real: unfiltered, the main and local tables show up too.
      const all = h.routeDump(4);
      expect(new Set(all.map((r) => r.table))).toEqual(new Set([254, 255, TABLE]));
      expect(all).toContainEqual({
        family: 4,
        table: 254,
        dst: '198.18.0.0',
        dstLen: 24,
        oif: vethIndex,
        prefsrc: '198.18.0.1',
        scope: 253,
        protocol: 2,
        type: 1,
      });
    } finally {
      h.routeDel(dflt);
      h.routeDel(link);
      h.routeDel(viaGw);
    }
    expect(ipRoutes(4, TABLE)).toEqual([]);
  });

  it('adds a v6 default route', () => {
    const dflt: RtRoute = {
      family: 6,
      table: TABLE,
      dst: '::',
      dstLen: 0,
      oif: vethIndex,
      protocol: NETCG_PROTO,
    };
    h.routeAdd(dflt);
    try {
      expect(ipRoutes(6, TABLE)).toEqual(['default dev nct0 proto 110 metric 1024 pref medium']);
      expect(h.routeDump(6, TABLE)).toEqual([{ ...dflt, priority: 1024, scope: 0, type: 1 }]);
    } finally {
      h.routeDel(dflt);
    }
    expect(ipRoutes(6, TABLE)).toEqual([]);
  });

  it('refuses a duplicate route with EEXIST', () => {
    const r: RtRoute = {
      family: 4,
      table: TABLE,
      dst: '198.51.100.0',
      dstLen: 24,
      oif: vethIndex,
      protocol: NETCG_PROTO,
    };
    h.routeAdd(r);
    try {
      const err = thrown(() => h.routeAdd(r));
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ code: 'EEXIST', errno: 17, op: 'rtnl.route.add' });
    } finally {
      h.routeDel(r);
    }
  });

  it('a delete carrying netcg protocol leaves a foreign route alone', () => {
    ns.ip('route', 'add', '198.51.100.0/24', 'dev', 'nct0', 'table', String(TABLE), 'proto', 'static');
    try {
      const before = ipRoutes(4, TABLE);
      expect(before).toEqual(['198.51.100.0/24 dev nct0 proto static scope link']);
      const err = thrown(() =>
        h.routeDel({
          family: 4,
          table: TABLE,
          dst: '198.51.100.0',
          dstLen: 24,
          oif: vethIndex,
          protocol: NETCG_PROTO,
        }),
      );
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ op: 'rtnl.route.del' });
      expect(ipRoutes(4, TABLE)).toEqual(before);
    } finally {
      ns.ip('route', 'flush', 'table', String(TABLE));
    }
  });

  it('reads a dump that spans many netlink messages', () => {
    // 3000 routes are far more than one receive buffer holds, so the dump comes in parts.
    const big = 2043;
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++)
      lines.push(`route add 198.19.${i >> 8}.${i & 255}/32 dev nct0 table ${big} proto 110`);
    ns.run('ip', ['-batch', '-'], lines.join('\n') + '\n');
    try {
      const dumped = h.routeDump(4, big);
      expect(dumped).toHaveLength(3000);
      expect(new Set(dumped.map((r) => r.dst)).size).toBe(3000);
      expect(dumped.every((r) => r.dstLen === 32 && r.oif === vethIndex && r.protocol === NETCG_PROTO)).toBe(
        true,
      );
    } finally {
      ns.ip('route', 'flush', 'table', String(big));
    }
  });

  it('names the field of a malformed address', () => {
    const bad = {
      family: 4,
      table: TABLE,
      dst: '0.0.0.0',
      dstLen: 0,
      oif: vethIndex,
      gateway: '2001:db8::1',
    } as RtRoute;
    expect(thrown(() => h.routeAdd(bad))).toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('route.gateway'),
    });
    const badLen = { family: 4, table: TABLE, dst: '198.51.100.0', dstLen: 33 } as RtRoute;
    expect(thrown(() => h.routeAdd(badLen))).toMatchObject({
      message: expect.stringContaining('route.dstLen'),
    });
    expect(ipRoutes(4, TABLE)).toEqual([]);
  });
});
