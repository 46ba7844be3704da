// The pure half of `netcg watch`: which kernel events can have broken netcg's
// state for a config (triggers.ts), the own-commit filter, and the log lines
// (log.ts). The daemon itself runs against the kernel in test/e2e/watch.test.ts.
import { describe, expect, it } from 'vitest';

import type { Config } from '../../src/config/index.js';
import { parseConfig } from '../../src/config/index.js';
import { compile } from '../../src/compile/index.js';
import type { NetlinkEvent } from '../../src/native/types.js';
import { OwnCommitFilter, scopeOf, triggerOf, withoutImplied } from '../../src/watch/triggers.js';
import { jsonLogger, textLine, type WatchRecord } from '../../src/watch/log.js';

const CONFIG = `table: netcg
cgroupParent: netcg
profiles:
  unlocator:
    classid: 42
    dns: { redirect: 5354 }
  vpn:
    classid: 43
    route: { via: tun0, table: 43, copyLinkRoutes: true }
  v2:
    match: cgroupv2
    ipv6: reject
`;

function scopeFor(text: string) {
  const config: Config = parseConfig(text, 'test.yaml');
  const desired = compile(config, {
    linkRoutes: [{ family: 4, dst: '198.18.0.0/24', dev: 'lan0' }],
    cgroups: { netCls: true, ids: {} },
  });
  return scopeOf(config, desired);
}

const scope = scopeFor(CONFIG);
const names = new Map([
  [2, 'lan0'],
  [5, 'tun0'],
  [7, 'eth9'],
]);

describe('scopeOf', () => {
  it('collects the table, the via and copied-route devices, the routing tables and the v2 cgroups', () => {
    expect(scope.table).toBe('netcg');
    expect([...scope.devices].sort()).toEqual(['lan0', 'tun0']);
    expect([...scope.tables]).toEqual([43]);
    expect(scope.copiesLinkRoutes).toBe(true);
    expect([...scope.cgroupsV2]).toEqual([['v2', 'netcg/v2']]);
  });
});

describe('triggerOf', () => {
  const relevant: Array<[NetlinkEvent, string]> = [
    [{ source: 'nft', type: 'deltable', family: 'inet', table: 'netcg' }, 'nft deltable in inet netcg'],
    [
      { source: 'nft', type: 'delrule', family: 'inet', table: 'netcg', chain: 'route_vpn' },
      'nft delrule route_vpn in inet netcg',
    ],
    [
      { source: 'nft', type: 'delsetelem', family: 'inet', table: 'netcg', set: 'dns_dispatch' },
      'nft delsetelem dns_dispatch in inet netcg',
    ],
    [
      { source: 'link', type: 'del', ifindex: 5, ifname: 'tun0', up: false, running: false },
      'link tun0 deleted',
    ],
    [{ source: 'link', type: 'new', ifindex: 5, ifname: 'tun0', up: true, running: true }, 'link tun0 up'],
    [
      {
        source: 'route',
        type: 'del',
        family: 4,
        table: 43,
        dst: '0.0.0.0',
        dstLen: 0,
        protocol: 110,
        routeType: 1,
        oif: 5,
      },
      'ipv4 route 0.0.0.0/0 table 43 deleted',
    ],
    [
      {
        source: 'route',
        type: 'new',
        family: 4,
        table: 254,
        dst: '198.18.9.0',
        dstLen: 24,
        protocol: 2,
        routeType: 1,
        oif: 2,
      },
      'ipv4 route 198.18.9.0/24 table 254 added',
    ],
    [
      { source: 'addr', type: 'new', ifindex: 2, family: 4, address: '198.18.9.1', prefixLen: 24 },
      'address 198.18.9.1/24 added to lan0',
    ],
    [
      { source: 'rule', type: 'del', family: 6, table: 43, priority: 10000, fwmark: 43, protocol: 110 },
      'ipv6 rule 10000 lookup 43 deleted',
    ],
    [
      { source: 'rule', type: 'del', family: 4, table: 99, priority: 5, protocol: 110 },
      'ipv4 rule 5 lookup 99 deleted',
    ],
    [{ source: 'overrun', bus: 'nft' }, 'events lost (nft receive buffer overrun)'],
  ];
  it.each(relevant)('%j matters', (event, reason) => {
    expect(triggerOf(event, scope, names)).toBe(reason);
  });

  const irrelevant: NetlinkEvent[] = [
    { source: 'nft', type: 'deltable', family: 'inet', table: 'firewalld' },
    { source: 'nft', type: 'newtable', family: 'ip', table: 'netcg' },
    { source: 'nft', type: 'newgen', genid: 7, pid: 1, comm: 'nft' },
    { source: 'link', type: 'del', ifindex: 7, ifname: 'eth9', up: false, running: false },
    {
      source: 'route',
      type: 'new',
      family: 4,
      table: 254,
      dst: '0.0.0.0',
      dstLen: 0,
      protocol: 4,
      routeType: 1,
    },
    {
      source: 'route',
      type: 'new',
      family: 4,
      table: 100,
      dst: '0.0.0.0',
      dstLen: 0,
      protocol: 110,
      routeType: 1,
    },
    { source: 'rule', type: 'new', family: 4, table: 100, priority: 100, protocol: 3 },
  ];
  it.each(irrelevant)('%j does not', (event) => {
    expect(triggerOf(event, scope, names)).toBeUndefined();
  });

  it('ignores addresses and main-table link routes when no profile copies link routes', () => {
    const noCopy = scopeFor(CONFIG.replace('copyLinkRoutes: true', 'copyLinkRoutes: false'));
    expect(
      triggerOf(
        { source: 'addr', type: 'new', ifindex: 2, family: 4, address: '198.18.9.1', prefixLen: 24 },
        noCopy,
        names,
      ),
    ).toBeUndefined();
    expect(
      triggerOf(
        {
          source: 'route',
          type: 'new',
          family: 4,
          table: 254,
          dst: '198.18.9.0',
          dstLen: 24,
          protocol: 2,
          routeType: 1,
        },
        noCopy,
        names,
      ),
    ).toBeUndefined();
  });
});

describe('withoutImplied', () => {
  it('names a deleted table once instead of every object it took along', () => {
    expect(
      withoutImplied([
        'nft delrule nat_output in inet netcg',
        'nft delchain nat_output in inet netcg',
        'nft delset dns_dispatch in inet netcg',
        'nft delrule x in inet other',
        'link tun0 up',
        'nft deltable in inet netcg',
      ]),
    ).toEqual(['nft delrule x in inet other', 'link tun0 up', 'nft deltable in inet netcg']);
    const noTable = ['nft delrule route_vpn in inet netcg'];
    expect(withoutImplied(noTable)).toBe(noTable);
  });
});

describe('OwnCommitFilter', () => {
  const ours = (n: number): NetlinkEvent => ({
    source: 'nft',
    type: 'newrule',
    family: 'inet',
    table: 'netcg',
    chain: `c${n}`,
  });
  it("drops the object events of our own commits and keeps everyone else's", () => {
    const f = new OwnCommitFilter(100);
    const link: NetlinkEvent = {
      source: 'link',
      type: 'new',
      ifindex: 5,
      ifname: 'tun0',
      up: true,
      running: true,
    };
    const foreign: NetlinkEvent = { source: 'nft', type: 'deltable', family: 'inet', table: 'netcg' };
    expect(
      f.feed([
        ours(1),
        ours(2),
        { source: 'nft', type: 'newgen', genid: 2, pid: 100 },
        link,
        foreign,
        { source: 'nft', type: 'newgen', genid: 3, pid: 200 },
      ]),
    ).toEqual([link, foreign]);
  });
  it("holds a commit's events until its generation arrives, even in a later batch", () => {
    const f = new OwnCommitFilter(100);
    expect(f.feed([ours(1)])).toEqual([]);
    expect(f.feed([{ source: 'nft', type: 'newgen', genid: 2, pid: 300 }])).toEqual([ours(1)]);
    expect(f.feed([ours(2)])).toEqual([]);
    expect(f.flush()).toEqual([ours(2)]);
    expect(f.flush()).toEqual([]);
  });
});

describe('log', () => {
  const repair: WatchRecord = {
    event: 'repair',
    trigger: ['nft deltable in inet netcg'],
    ms: 9,
    sinceEventMs: 61,
    summary: { add: 2, change: 0, destroy: 1 },
    changes: [
      { action: '+', kind: 'table', id: 'inet netcg' },
      { action: '+', kind: 'map', id: 'dns_dispatch' },
      { action: '-', kind: 'route', id: 'ipv4 0.0.0.0/0 table 43' },
    ],
  };

  it('says in one line what triggered a repair, what changed and how long it took', () => {
    expect(textLine(repair)).toBe(
      'repaired in 9 ms (61 ms after the first event) after nft deltable in inet netcg: 2 added, 0 changed, 1 destroyed: +table inet netcg, +map dns_dispatch, -route ipv4 0.0.0.0/0 table 43',
    );
    expect(textLine(repair)).not.toContain('\n');
  });

  it('shortens long lists', () => {
    const many = textLine({ ...repair, trigger: Array.from({ length: 9 }, (_, i) => `t${i}`) });
    expect(many).toContain('t0, t1, t2, t3, t4, t5 and 3 more');
  });

  it('names file:line:col: key for each issue of a broken config', () => {
    const line = textLine({
      event: 'config-error',
      file: 'c.yaml',
      code: 'ECONFIG',
      message: 'x',
      issues: [{ file: 'c.yaml', line: 6, col: 11, path: 'profiles.vpn.ipv6', message: 'expected "reject"' }],
    });
    expect(line).toBe(
      'error: cannot reload c.yaml, keeping the running config:\n  c.yaml:6:11: profiles.vpn.ipv6: expected "reject"',
    );
  });

  it('writes JSON lines with version and time', () => {
    const lines: string[] = [];
    jsonLogger((l) => lines.push(l))(repair);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      version: 1,
      event: 'repair',
      trigger: repair.trigger,
      ms: 9,
      sinceEventMs: 61,
    });
    expect(typeof parsed.time).toBe('string');
  });
});
