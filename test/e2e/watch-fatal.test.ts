// The watch daemon never leaves its loop silently: a monitor that stopped
// listening (found by the watchdog) or that reported it cannot go on ends the
// daemon with a `fatal` record and a rejected `done` (WatchFatalError, exit
// status 3 for `netcg watch`), in a throwaway namespace on the real kernel.
import { afterEach, expect, it } from 'vitest';

import { FATAL_EXIT_STATUS, WatchDaemon, WatchFatalError } from '../../src/watch/daemon.js';
import type { WatchRecord } from '../../src/watch/log.js';
import type { NetlinkEvent, NetlinkMonitor } from '../../src/native/types.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function daemonIn(): { daemon: WatchDaemon; records: WatchRecord[] } {
  const ns: Netns = createNetns('ncfatal');
  cleanups.push(() => ns.remove());
  const cfg: TempConfig = tempConfig('profiles:\n  dns:\n    classid: 0x10042\n    ipv6: reject\n', 'ncf');
  cleanups.push(() => cfg.remove());
  const records: WatchRecord[] = [];
  const daemon = new WatchDaemon({ configFile: cfg.file, netns: ns.path, log: (r) => records.push(r) });
  cleanups.push(() => daemon.stop('SIGTERM'));
  daemon.start();
  return { daemon, records };
}

/** The daemon's own monitor (private: this test plays the part of a failure inside it). */
const monitorOf = (d: WatchDaemon) => (d as unknown as { monitor: NetlinkMonitor }).monitor;

it('a monitor that stopped listening is found by the watchdog: fatal record, done rejects', async () => {
  const { daemon, records } = daemonIn();
  expect(records.map((r) => r.event)).toEqual(['start', 'apply']);
  monitorOf(daemon).close();
  const err = await daemon.done.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WatchFatalError);
  expect((err as WatchFatalError).exitStatus).toBe(FATAL_EXIT_STATUS);
  expect(records.at(-1)).toEqual({
    event: 'fatal',
    reason: 'monitor-stopped',
    message: 'the netlink monitor no longer listens',
    exitStatus: 3,
  });
});

it("a monitor's last 'error' event ends the daemon with that reason", async () => {
  const { daemon, records } = daemonIn();
  const error: NetlinkEvent = { source: 'error', bus: 'rtnl', errno: 9, message: 'cannot re-arm the poll' };
  (daemon as unknown as { onEvents(b: NetlinkEvent[]): void }).onEvents([error]);
  await expect(daemon.done).rejects.toThrow(/monitor-failed: netlink rtnl: cannot re-arm the poll/);
  expect(records.filter((r) => r.event === 'fatal')).toEqual([
    { event: 'fatal', reason: 'monitor-failed', message: expect.stringContaining('errno 9'), exitStatus: 3 },
  ]);
  expect(monitorOf(daemon).active()).toBe(false);
});

it('an overrun is logged once per bus until the check it triggers has run', () => {
  const { daemon, records } = daemonIn();
  const feed = (b: NetlinkEvent[]) =>
    (daemon as unknown as { onEvents(b: NetlinkEvent[]): void }).onEvents(b);
  feed([{ source: 'overrun', bus: 'nft' }]);
  feed([
    { source: 'overrun', bus: 'nft' },
    { source: 'overrun', bus: 'rtnl' },
  ]);
  expect(records.filter((r) => r.event === 'overrun')).toEqual([
    { event: 'overrun', bus: 'nft' },
    { event: 'overrun', bus: 'rtnl' },
  ]);
});
