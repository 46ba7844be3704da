// NetlinkMonitor against the real kernel in a throwaway namespace: every event
// source arrives (links, v4/v6 addresses, routes, rules, nf_tables), a closed
// monitor is silent, and a full receive buffer is reported as an overrun.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addon, openHandle } from '../../src/native/index.js';
import type { NetlinkEvent, NetlinkHandle, NetlinkMonitor } from '../../src/native/types.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
let h: NetlinkHandle;
let monitor: NetlinkMonitor;
const seen: NetlinkEvent[] = [];
const monitors: NetlinkMonitor[] = [];

beforeAll(() => {
  ns = createNetns('ncmon');
  h = openHandle(ns.path);
  monitor = new addon.NetlinkMonitor({ netns: ns.path }, (batch) => seen.push(...batch));
  monitors.push(monitor);
});

afterAll(() => {
  for (const m of monitors) m.close();
  h?.close();
  ns?.remove();
});

/** Waits (event loop running, so the monitor can deliver) until an event matching `want` has been seen. */
async function expectEvent(
  want: (e: NetlinkEvent) => boolean,
  events: NetlinkEvent[] = seen,
  ms = 3000,
): Promise<NetlinkEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = events.find(want);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no such event within ${ms} ms; seen: ${JSON.stringify(events.slice(-20))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('NetlinkMonitor', () => {
  let ifindex = 0;

  it('reports links created, brought up and deleted', async () => {
    ns.ip('link', 'add', 'mon0', 'type', 'veth', 'peer', 'name', 'mon0p');
    const created = await expectEvent((e) => e.source === 'link' && e.type === 'new' && e.ifname === 'mon0');
    ifindex = (created as { ifindex: number }).ifindex;
    expect(ifindex).toBeGreaterThan(0);
    expect(created).toMatchObject({ up: false });
    ns.ip('link', 'set', 'mon0', 'up');
    await expectEvent((e) => e.source === 'link' && e.type === 'new' && e.ifname === 'mon0' && e.up);
  });

  it('reports IPv4 and IPv6 addresses added and removed', async () => {
    ns.ip('addr', 'add', '198.18.77.1/24', 'dev', 'mon0');
    expect(await expectEvent((e) => e.source === 'addr' && e.type === 'new' && e.family === 4)).toEqual({
      source: 'addr',
      type: 'new',
      ifindex,
      family: 4,
      address: '198.18.77.1',
      prefixLen: 24,
    });
    // The kernel's own link route for the new prefix comes with it.
    expect(
      await expectEvent((e) => e.source === 'route' && e.type === 'new' && e.dst === '198.18.77.0'),
    ).toMatchObject({
      family: 4,
      table: 254,
      dstLen: 24,
      protocol: 2,
      oif: ifindex,
    });
    ns.ip('-6', 'addr', 'add', '2001:db8:77::1/64', 'dev', 'mon0', 'nodad');
    expect(
      await expectEvent(
        (e) => e.source === 'addr' && e.type === 'new' && e.family === 6 && e.address === '2001:db8:77::1',
      ),
    ).toMatchObject({
      ifindex,
      prefixLen: 64,
    });
    ns.ip('addr', 'del', '198.18.77.1/24', 'dev', 'mon0');
    await expectEvent((e) => e.source === 'addr' && e.type === 'del' && e.address === '198.18.77.1');
    await expectEvent((e) => e.source === 'route' && e.type === 'del' && e.dst === '198.18.77.0');
  });

  it('reports routes and rules added and deleted through the addon', async () => {
    const route = {
      family: 4 as const,
      table: 4242,
      dst: '198.51.100.0',
      dstLen: 24,
      oif: ifindex,
      protocol: 110,
    };
    h.routeAdd(route);
    expect(await expectEvent((e) => e.source === 'route' && e.type === 'new' && e.table === 4242)).toEqual({
      source: 'route',
      type: 'new',
      family: 4,
      table: 4242,
      dst: '198.51.100.0',
      dstLen: 24,
      protocol: 110,
      routeType: 1,
      oif: ifindex,
    });
    const route6 = {
      family: 6 as const,
      table: 4242,
      dst: '::',
      dstLen: 0,
      type: 7,
      protocol: 110,
      priority: 4294967295,
    };
    h.routeAdd(route6);
    await expectEvent(
      (e) =>
        e.source === 'route' && e.type === 'new' && e.family === 6 && e.table === 4242 && e.routeType === 7,
    );

    const rule = { family: 6 as const, priority: 12345, table: 4242, fwmark: 0x2b, protocol: 110 };
    h.ruleAdd(rule);
    expect(await expectEvent((e) => e.source === 'rule' && e.type === 'new')).toEqual({
      source: 'rule',
      type: 'new',
      family: 6,
      table: 4242,
      priority: 12345,
      fwmark: 0x2b,
      protocol: 110,
    });
    h.ruleDel(rule);
    await expectEvent((e) => e.source === 'rule' && e.type === 'del' && e.priority === 12345);
    h.routeDel(route);
    await expectEvent((e) => e.source === 'route' && e.type === 'del' && e.table === 4242 && e.family === 4);
  });

  it('reports nf_tables objects and the generation with the committing process', async () => {
    const genid = h.nftGenid();
    h.nftCommit([
      { verb: 'add', object: 'table', family: 'inet', name: 'montest' },
      { verb: 'add', object: 'chain', family: 'inet', table: 'montest', name: 'c' },
      {
        verb: 'add',
        object: 'rule',
        family: 'inet',
        table: 'montest',
        chain: 'c',
        exprs: [{ type: 'counter', packets: 0, bytes: 0 }],
      },
    ]);
    expect(await expectEvent((e) => e.source === 'nft' && e.type === 'newtable')).toEqual({
      source: 'nft',
      type: 'newtable',
      family: 'inet',
      table: 'montest',
    });
    expect(await expectEvent((e) => e.source === 'nft' && e.type === 'newchain')).toEqual({
      source: 'nft',
      type: 'newchain',
      family: 'inet',
      table: 'montest',
      chain: 'c',
    });
    expect(await expectEvent((e) => e.source === 'nft' && e.type === 'newrule')).toEqual({
      source: 'nft',
      type: 'newrule',
      family: 'inet',
      table: 'montest',
      chain: 'c',
    });
    expect(await expectEvent((e) => e.source === 'nft' && e.type === 'newgen')).toEqual({
      source: 'nft',
      type: 'newgen',
      genid: genid + 1,
      pid: process.pid,
      comm: expect.any(String),
    });

    // Someone else's `nft flush ruleset`: the table goes, and the generation names nft.
    ns.nft('flush', 'ruleset');
    await expectEvent((e) => e.source === 'nft' && e.type === 'deltable' && e.table === 'montest');
    expect(
      await expectEvent((e) => e.source === 'nft' && e.type === 'newgen' && e.pid !== process.pid),
    ).toMatchObject({ comm: 'nft' });
  });

  it('reports a deleted link', async () => {
    ns.ip('link', 'del', 'mon0');
    await expectEvent((e) => e.source === 'link' && e.type === 'del' && e.ifindex === ifindex);
  });

  it('sees nothing from other namespaces', async () => {
    const other = createNetns('ncmon');
    try {
      const before = seen.length;
      other.ip('link', 'add', 'elsewhere0', 'type', 'veth', 'peer', 'name', 'elsewhere1');
      other.nft('add', 'table', 'inet', 'elsewhere');
      // A marker in our namespace: once it arrived, the other two would have too.
      ns.nft('add', 'table', 'inet', 'marker');
      await expectEvent((e) => e.source === 'nft' && e.type === 'newtable' && e.table === 'marker');
      expect(
        seen
          .slice(before)
          .filter(
            (e) => ('ifname' in e && e.ifname === 'elsewhere0') || ('table' in e && e.table === 'elsewhere'),
          ),
      ).toEqual([]);
    } finally {
      other.remove();
    }
  });

  it('calls back no more after close()', async () => {
    const mine: NetlinkEvent[] = [];
    const m = new addon.NetlinkMonitor({ netns: ns.path }, (batch) => mine.push(...batch));
    monitors.push(m);
    ns.nft('add', 'table', 'inet', 'before_close');
    await expectEvent((e) => e.source === 'nft' && e.type === 'newtable' && e.table === 'before_close', mine);
    m.close();
    m.close(); // idempotent
    const count = mine.length;
    ns.nft('add', 'table', 'inet', 'after_close');
    await expectEvent((e) => e.source === 'nft' && e.type === 'newtable' && e.table === 'after_close'); // the other monitor saw it
    await new Promise((r) => setTimeout(r, 100));
    expect(mine.length).toBe(count);
  });

  it('reports an overrun when the receive buffer overflows', async () => {
    const mine: NetlinkEvent[] = [];
    // The kernel rounds a tiny buffer up to its minimum (a couple of KiB).
    const m = new addon.NetlinkMonitor({ netns: ns.path, rcvbuf: 1 }, (batch) => mine.push(...batch));
    monitors.push(m);
    ns.ip('link', 'add', 'flood0', 'type', 'veth', 'peer', 'name', 'flood1');
    ns.ip('link', 'set', 'flood0', 'up');
    const oif = h.linkDump().find((l) => l.name === 'flood0')!.index;
    // Synchronous: the event loop (and so the monitor) cannot read until the flood is over.
    for (let i = 0; i < 300; i++)
      h.routeAdd({ family: 4, table: 4343, dst: `198.51.100.${i % 250}`, dstLen: 32, oif, priority: i });
    const overrun = await expectEvent((e) => e.source === 'overrun', mine);
    expect(overrun).toEqual({ source: 'overrun', bus: 'rtnl' });
    // The big default buffer of the first monitor lost nothing.
    await expectEvent(
      (e) =>
        e.source === 'route' &&
        e.table === 4343 &&
        e.dst === '198.51.100.49' &&
        (e as { oif?: number }).oif === oif,
    );
    expect(seen.filter((e) => e.source === 'route' && e.type === 'new' && e.table === 4343)).toHaveLength(
      300,
    );
    expect(seen.some((e) => e.source === 'overrun')).toBe(false);

    // The watchdog: the overrun flagged the socket (EPOLLERR), on which libuv
    // stops the poll. The monitor re-armed it, so a later event still arrives.
    expect(m.active()).toBe(true);
    ns.nft('add', 'table', 'inet', 'after_overrun');
    await expectEvent(
      (e) => e.source === 'nft' && e.type === 'newtable' && e.table === 'after_overrun',
      mine,
    );
    // And a second overrun is reported and survived the same way.
    const overruns = mine.filter((e) => e.source === 'overrun').length;
    for (let i = 0; i < 300; i++)
      h.routeDel({ family: 4, table: 4343, dst: `198.51.100.${i % 250}`, dstLen: 32, oif, priority: i });
    await expectEvent(() => mine.filter((e) => e.source === 'overrun').length > overruns, mine);
    ns.nft('add', 'table', 'inet', 'after_second_overrun');
    await expectEvent(
      (e) => e.source === 'nft' && e.type === 'newtable' && e.table === 'after_second_overrun',
      mine,
    );
    expect(m.active()).toBe(true);
    expect(mine.some((e) => e.source === 'error')).toBe(false);
  });

  it('is inactive once closed', () => {
    const m = new addon.NetlinkMonitor({ netns: ns.path }, () => {});
    monitors.push(m);
    expect(m.active()).toBe(true);
    m.close();
    expect(m.active()).toBe(false);
  });
});
