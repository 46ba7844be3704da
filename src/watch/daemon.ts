// `netcg watch`: keeps the kernel equal to the config, driven by events.
//
// The loop: a NetlinkMonitor (rtnetlink + nf_tables notifications, no polling)
// and fs.watch on the cgroup v2 profile cgroups' parent directories feed
// triggers.ts, which says whether an event can have broken netcg's state. The
// first relevant event of a burst starts a short timer (the debounce: a firewall
// reload is hundreds of messages); when it fires, one Reconciler.apply() — the
// same plan-and-execute as `netcg apply`, under the same namespace lock —
// repairs whatever the burst broke. The Reconciler keeps the last state it left,
// so a burst that did not touch netcg's table costs one generation-id query.
//
// Failures (the `via` interface missing or down, the lock busy) are logged and
// retried on the next relevant event, or after a back-off. An apply that keeps
// failing would otherwise feed itself through the events of its own rollback, so
// after a few failures in a row event-driven retries are spaced out as well.
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { ApplyReport } from '../apply.js';
import { NetlinkBackend } from '../backends/netlink.js';
import { findCgroup2 } from '../cgroups/cgroup2.js';
import { netClsAvailable } from '../cgroups/match.js';
import { compile } from '../compile/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { addon } from '../native/index.js';
import type { NetlinkEvent, NetlinkMonitor } from '../native/types.js';
import { Reconciler } from '../reconciler.js';
import type { ChangeRef, WatchLogger } from './log.js';
import { OwnCommitFilter, scopeOf, triggerOf, type WatchScope } from './triggers.js';

export const DEFAULT_DEBOUNCE_MS = 50;
/** Failures in a row after which event-driven retries are spaced out too. */
const FAILURES_BEFORE_SPACING = 3;
const MAX_RETRY_MS = 30_000;

export interface WatchOptions {
  configFile: string;
  /** Network namespace path (e.g. /run/netns/x); default: ours. */
  netns?: string;
  debounceMs?: number;
  log: WatchLogger;
}

function changeRefs(report: ApplyReport): ChangeRef[] {
  return report.plan.changes.map((c) => ({ action: c.action, kind: c.kind, id: c.id }));
}

function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? 'EINTERNAL';
}

export class WatchDaemon {
  private config: Config;
  private readonly backend: NetlinkBackend;
  private readonly reconciler: Reconciler;
  private readonly monitor: NetlinkMonitor;
  private readonly ownCommits = new OwnCommitFilter(process.pid);
  private readonly ifnames = new Map<number, string>();
  private readonly cgroupWatchers = new Map<string, FSWatcher>();
  /** Watched directory -> the profile cgroup names in it. */
  private cgroupNames = new Map<string, Set<string>>();
  private scope: WatchScope;
  private readonly debounceMs: number;

  /** Reasons gathered since the last apply, and when the first of them arrived. */
  private pending: string[] = [];
  private firstEventAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError = '';
  private stopped = false;
  private resolveDone: () => void = () => {};
  /** Resolves once stop() has closed everything. */
  readonly done: Promise<void>;

  /** Loads the config (a broken one throws: nothing started), opens the backend and the monitor. Call start() next. */
  constructor(private readonly opts: WatchOptions) {
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.config = loadConfig(opts.configFile);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.backend = new NetlinkBackend(opts.netns);
    this.reconciler = new Reconciler(this.backend);
    // Subscribed before the initial apply, so nothing that happens after it is missed.
    try {
      this.monitor = new addon.NetlinkMonitor(opts.netns === undefined ? {} : { netns: opts.netns }, (batch) => this.onEvents(batch));
    } catch (err) {
      this.backend.close();
      throw err;
    }
    for (const l of this.backend.links()) this.ifnames.set(l.index, l.name);
    this.scope = this.computeScope();
  }

  /** The initial apply (a failure is logged and retried like any other), then event-driven repairs until stop(). */
  start(): void {
    this.opts.log({ event: 'start', config: this.opts.configFile, netns: this.opts.netns ?? null, debounceMs: this.debounceMs, pid: process.pid });
    this.applyNow('start');
  }

  /** Re-reads the config (SIGHUP): a broken one is reported and the running one kept. */
  reload(): void {
    if (this.stopped) return;
    let next: Config;
    try {
      next = loadConfig(this.opts.configFile);
    } catch (err) {
      const e = err as Error;
      this.opts.log({ event: 'config-error', file: this.opts.configFile, message: e.message, issues: err instanceof ConfigError ? err.issues : [] });
      return;
    }
    this.config = next;
    this.applyNow('reload');
  }

  stop(signal: string): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.monitor.close();
    for (const w of this.cgroupWatchers.values()) w.close();
    this.cgroupWatchers.clear();
    this.reconciler.close();
    this.backend.close();
    this.opts.log({ event: 'stop', signal });
    this.resolveDone();
  }

  /** The desired state's dependencies (interfaces, tables, cgroups), for triggers.ts. */
  private computeScope(): WatchScope {
    const facts = { ...this.backend.hostFacts(), cgroups: { netCls: netClsAvailable(), ids: {} } };
    return scopeOf(this.config, compile(this.config, facts));
  }

  private onEvents(batch: NetlinkEvent[]): void {
    if (this.stopped) return;
    for (const e of this.ownCommits.feed(batch)) {
      if (e.source === 'link' && e.type === 'new' && e.ifname !== undefined) this.ifnames.set(e.ifindex, e.ifname);
      const reason = triggerOf(e, this.scope, this.ifnames);
      if (e.source === 'link' && e.type === 'del') this.ifnames.delete(e.ifindex);
      if (reason !== undefined) this.trigger(reason);
    }
  }

  private trigger(reason: string): void {
    if (this.pending.length === 0) this.firstEventAt = performance.now();
    if (!this.pending.includes(reason)) this.pending.push(reason);
    // The window starts at the first event and is not pushed back by later ones,
    // so a steady stream of events cannot postpone the repair.
    if (this.timer === undefined || this.retryOnly) this.arm(this.eventDelay());
  }

  /** True while the armed timer is a failure back-off, not a debounce. */
  private retryOnly = false;

  private arm(ms: number, retry = false): void {
    clearTimeout(this.timer);
    this.retryOnly = retry;
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  private eventDelay(): number {
    if (this.failures < FAILURES_BEFORE_SPACING) return this.debounceMs;
    return Math.min(100 * 2 ** (this.failures - FAILURES_BEFORE_SPACING), 5_000);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.retryOnly = false;
    for (const e of this.ownCommits.flush()) {
      const reason = triggerOf(e, this.scope, this.ifnames);
      if (reason !== undefined) this.trigger(reason);
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    const trigger = this.pending.length > 0 ? this.pending : ['retry after an error'];
    const since = this.pending.length > 0 ? this.firstEventAt : performance.now();
    this.pending = [];
    this.repair(trigger, since);
  }

  private applyNow(reason: 'start' | 'reload'): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const t0 = performance.now();
    const trigger = [reason === 'start' ? 'start' : 'config reloaded (SIGHUP)', ...this.pending];
    this.pending = [];
    const report = this.attempt(trigger);
    if (report) this.opts.log({ event: 'apply', reason, changed: report.changed, summary: report.summary, changes: changeRefs(report), ms: Math.round(performance.now() - t0) });
  }

  private repair(trigger: string[], since: number): void {
    const t0 = performance.now();
    const report = this.attempt(trigger);
    if (!report || !report.changed) return;
    const end = performance.now();
    this.opts.log({
      event: 'repair', trigger, summary: report.summary, changes: changeRefs(report),
      ms: Math.round(end - t0), sinceEventMs: Math.round(end - since),
    });
  }

  /** One apply; afterwards the scope and the cgroup watches follow the state. Undefined on failure (logged, retry armed). */
  private attempt(trigger: string[]): ApplyReport | undefined {
    let report: ApplyReport;
    try {
      report = this.reconciler.apply(this.config);
    } catch (err) {
      this.failures++;
      const retryInMs = Math.min(1000 * 2 ** (this.failures - 1), MAX_RETRY_MS);
      const message = (err as Error).message;
      const key = `${errorCode(err)}: ${message}`;
      if (key !== this.lastError) this.opts.log({ event: 'error', trigger, code: errorCode(err), message, retryInMs });
      this.lastError = key;
      if (!this.stopped) this.arm(retryInMs, true);
      this.refreshScope();
      return undefined;
    }
    this.failures = 0;
    this.lastError = '';
    this.refreshScope();
    return report;
  }

  private refreshScope(): void {
    try {
      this.scope = this.computeScope();
    } catch {
      /* keep the previous scope: it is only a filter, and the next apply reports the problem */
    }
    this.watchCgroups();
  }

  /**
   * fs.watch on the parent directories of the cgroup v2 profile cgroups: cgroupfs
   * reports mkdir/rmdir there, and a re-created cgroup has a new ID that netcg's
   * maps must follow. A watch dies with its directory; it is made again after the
   * next apply (which re-creates the directory).
   */
  private watchCgroups(): void {
    const root = this.scope.cgroupsV2.size > 0 ? findCgroup2() : undefined;
    const wanted = new Map<string, Set<string>>();
    if (root) {
      for (const path of this.scope.cgroupsV2.values()) {
        const dir = dirname(join(root, path));
        if (!wanted.has(dir)) wanted.set(dir, new Set());
        wanted.get(dir)!.add(basename(path));
      }
    }
    this.cgroupNames = wanted;
    for (const [dir, w] of this.cgroupWatchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.cgroupWatchers.delete(dir);
      }
    }
    for (const dir of wanted.keys()) {
      if (this.cgroupWatchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = fsWatch(dir, { persistent: true }, (_type, name) => {
          if (name && this.cgroupNames.get(dir)?.has(name)) this.trigger(`cgroup ${join(dir, name)} removed or re-created`);
        });
      } catch {
        continue; // not there yet: the next apply creates it, and the watch follows
      }
      w.on('error', () => {
        w.close();
        if (this.cgroupWatchers.get(dir) === w) this.cgroupWatchers.delete(dir);
        this.trigger(`cgroup directory ${dir} removed`);
      });
      this.cgroupWatchers.set(dir, w);
    }
  }
}

/**
 * Runs the daemon until SIGTERM or SIGINT (resolves then; exit status 0 is the
 * caller's). SIGHUP re-reads the config.
 */
export async function runWatch(opts: WatchOptions): Promise<void> {
  const daemon = new WatchDaemon(opts);
  const onHup = () => daemon.reload();
  const onStop = (signal: NodeJS.Signals) => daemon.stop(signal);
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  try {
    daemon.start();
    await daemon.done;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}
