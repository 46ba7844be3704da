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
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { hostFactsOf, onHost, type ApplyReport } from '../apply/apply.js';
import { findCgroup2, readCgroupIds } from '../cgroups/cgroup2.js';
import { walkCgroupPattern } from '../cgroups/existing.js';
import { compile } from '../compile/index.js';
import { loadConfig, type Config } from '../config/index.js';
import { checkConfigTrust } from '../config/trust-fs.js';
import type { TrustFinding } from '../config/trust.js';
import { ConfigError } from '../shared/errors.js';
import { addon } from '../native/index.js';
import type { NetlinkEvent, NetlinkMonitor } from '../native/types.js';
import type { PlanSummary } from '../plan/plan.js';
import { Reconciler } from '../apply/reconciler.js';
import { DeferringBackend } from './backend.js';
import { DEFAULT_DEBOUNCE_MS } from './defaults.js';
import type { ChangeRef, FatalReason, WatchLogger } from './log.js';
import { OwnCommitFilter, scopeOf, triggerOf, withoutImplied, type WatchScope } from './triggers.js';

export { DEFAULT_DEBOUNCE_MS } from './defaults.js';

/** Failures in a row after which event-driven retries are spaced out too. */
const FAILURES_BEFORE_SPACING = 3;
const MAX_RETRY_MS = 30_000;
/** How often the watchdog checks that the monitor still listens (also the ref'd handle that keeps the loop alive). */
const WATCHDOG_MS = 1_000;
/** Exit status of a daemon that cannot go on (logged as a `fatal` record first). */
export const FATAL_EXIT_STATUS = 3;

/** How the daemon's `done` rejects when it cannot go on; the `fatal` record is already logged. */
export class WatchFatalError extends Error {
  readonly code = 'EWATCHFATAL';
  readonly exitStatus = FATAL_EXIT_STATUS;
  constructor(
    readonly reason: FatalReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
}

export interface WatchOptions {
  configFile: string;
  /** Network namespace path (e.g. /run/netns/x); default: ours. */
  netns?: string;
  debounceMs?: number;
  log: WatchLogger;
  /**
   * Use a config someone other than root can change (--trust-config). Without it a
   * daemon running as root refuses such a config at start (EUNTRUSTEDCONFIG) and on
   * SIGHUP (a config-error record; the running config is kept).
   */
  trustConfig?: boolean;
}

/** What an apply did: its plan's changes minus the routes deferred until their interface is up. */
interface Outcome {
  changes: ChangeRef[];
  summary: PlanSummary;
}

function outcomeOf(report: ApplyReport, backend: DeferringBackend): Outcome {
  const changes = report.plan.changes
    .filter((c) => !backend.isDeferred(c))
    .map((c) => ({ action: c.action, kind: c.kind, id: c.id }));
  const count = (a: ChangeRef['action']) => changes.filter((c) => c.action === a).length;
  return { changes, summary: { add: count('+'), change: count('~'), destroy: count('-') } };
}

function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? 'EINTERNAL';
}

export class WatchDaemon {
  private config: Config;
  private readonly backend: DeferringBackend;
  private readonly reconciler: Reconciler;
  private readonly monitor: NetlinkMonitor;
  private readonly ownCommits = new OwnCommitFilter(process.pid);
  private readonly ifnames = new Map<number, string>();
  private readonly cgroupWatchers = new Map<string, FSWatcher>();
  /** cgroup v2 profile -> the cgroup ID the last successful apply put in the maps (decimal). */
  private appliedIds = new Map<string, string>();
  /** Existing-cgroup profile -> the IDs (decimal, sorted, joined by ' ') the last successful apply put in the maps. */
  private appliedExisting = new Map<string, string>();
  private scope: WatchScope;
  private readonly debounceMs: number;
  /** With --trust-config: why the config at start would have been refused. */
  private readonly trustOverridden: TrustFinding[];

  /** Reasons gathered since the last apply, and when the first of them arrived. */
  private pending: string[] = [];
  private firstEventAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError = '';
  private waitingFor = '';
  private stopped = false;
  /** Buses whose overrun was logged since the last apply (one record per bus and repair, not one per batch). */
  private readonly overrunsLogged = new Set<string>();
  private watchdog: NodeJS.Timeout | undefined;
  private resolveDone: () => void = () => {};
  private rejectDone: (err: WatchFatalError) => void = () => {};
  /** Resolves once stop() has closed everything; rejects (WatchFatalError) once die() has. */
  readonly done: Promise<void>;

  /** Loads the config (a broken one throws: nothing started), opens the backend and the monitor. Call start() next. */
  constructor(private readonly opts: WatchOptions) {
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.trustOverridden = checkConfigTrust(opts.configFile, opts.trustConfig === true);
    this.config = loadConfig(opts.configFile);
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.backend = new DeferringBackend(opts.netns);
    this.reconciler = new Reconciler(this.backend);
    // Subscribed before the initial apply, so nothing that happens after it is missed.
    try {
      this.monitor = new addon.NetlinkMonitor(
        opts.netns === undefined ? {} : { netns: opts.netns },
        (batch) => this.onEvents(batch),
      );
    } catch (err) {
      this.backend.close();
      throw err;
    }
    for (const l of this.backend.links()) this.ifnames.set(l.index, l.name);
    this.scope = this.computeScope();
  }

  /** The initial apply (a failure is logged and retried like any other), then event-driven repairs until stop(). */
  start(): void {
    this.opts.log({
      event: 'start',
      config: this.opts.configFile,
      netns: this.opts.netns ?? null,
      debounceMs: this.debounceMs,
      pid: process.pid,
      ...(this.trustOverridden.length > 0
        ? { trustOverridden: this.trustOverridden.map((f) => `${f.message} (fix: ${f.fix})`) }
        : {}),
    });
    // A monitor that stopped listening must not go unnoticed: a deaf daemon that
    // looks alive is worse than one that exits and is restarted.
    this.watchdog = setInterval(() => {
      if (!this.stopped && !this.monitor.active())
        this.die('monitor-stopped', 'the netlink monitor no longer listens');
    }, WATCHDOG_MS);
    this.applyNow('start');
  }

  /** Re-reads the config (SIGHUP): a broken one is reported and the running one kept. */
  reload(): void {
    if (this.stopped) return;
    let next: Config;
    try {
      checkConfigTrust(this.opts.configFile, this.opts.trustConfig === true);
      next = loadConfig(this.opts.configFile);
    } catch (err) {
      const e = err as Error;
      this.opts.log({
        event: 'config-error',
        file: this.opts.configFile,
        code: errorCode(err),
        message: e.message,
        issues: err instanceof ConfigError ? err.issues : [],
      });
      return;
    }
    this.config = next;
    this.refreshScope(); // the new config's interfaces and cgroups, before it is applied
    this.applyNow('reload');
  }

  stop(signal: string): void {
    if (this.stopped) return;
    this.closeAll();
    this.opts.log({ event: 'stop', signal });
    this.resolveDone();
  }

  /**
   * The daemon cannot go on: logs why (a `fatal` record), closes everything and
   * rejects `done` with a WatchFatalError; `netcg watch` then exits non-zero so
   * that a supervisor restarts it. Never a silent exit.
   */
  die(reason: FatalReason, message: string): void {
    if (this.stopped) return;
    try {
      this.closeAll();
    } catch {
      /* closing is best effort: the record and the exit matter */
    }
    this.opts.log({ event: 'fatal', reason, message, exitStatus: FATAL_EXIT_STATUS });
    this.rejectDone(new WatchFatalError(reason, message));
  }

  private closeAll(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.monitor.close();
    for (const w of this.cgroupWatchers.values()) w.close();
    this.cgroupWatchers.clear();
    this.reconciler.close();
    this.backend.close();
  }

  /** The desired state's dependencies (interfaces, tables, cgroups), for triggers.ts. */
  private computeScope(): WatchScope {
    const config = onHost(this.config, this.backend);
    return scopeOf(config, compile(config, hostFactsOf(this.backend, config)));
  }

  private onEvents(batch: NetlinkEvent[]): void {
    if (this.stopped) return;
    for (const e of this.ownCommits.feed(batch)) {
      if (e.source === 'error') {
        this.die('monitor-failed', `netlink ${e.bus}: ${e.message} (errno ${e.errno})`);
        return;
      }
      if (e.source === 'overrun') {
        if (!this.overrunsLogged.has(e.bus)) this.opts.log({ event: 'overrun', bus: e.bus });
        this.overrunsLogged.add(e.bus);
        // Lost link events may have renamed or renumbered interfaces: ask the kernel.
        this.resyncLinks();
      }
      if (e.source === 'link' && e.type === 'new' && e.ifname !== undefined)
        this.ifnames.set(e.ifindex, e.ifname);
      const reason = triggerOf(e, this.scope, this.ifnames);
      if (e.source === 'link' && e.type === 'del') this.ifnames.delete(e.ifindex);
      if (reason !== undefined) this.trigger(reason);
    }
  }

  private resyncLinks(): void {
    try {
      const links = this.backend.links();
      this.ifnames.clear();
      for (const l of links) if (l.index >= 0) this.ifnames.set(l.index, l.name);
    } catch {
      /* the repair this overrun triggers reports any problem */
    }
  }

  /**
   * `forget`: the Reconciler's memory may be wrong (a cgroup re-created: its
   * cheap parent-directory stamp can miss a removal and re-creation within one
   * clock tick), so the next apply checks everything.
   */
  private trigger(reason: string, forget = false): void {
    if (forget) this.forgetNext = true;
    if (this.pending.length === 0) this.firstEventAt = performance.now();
    if (!this.pending.includes(reason)) this.pending.push(reason);
    // The window starts at the first event and is not pushed back by later ones,
    // so a steady stream of events cannot postpone the repair.
    if (this.timer === undefined || this.retryOnly) this.arm(this.eventDelay());
  }

  /** True while the armed timer is a failure back-off, not a debounce. */
  private retryOnly = false;
  /** The next apply must not trust the Reconciler's memory (see trigger). */
  private forgetNext = false;

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
    const done = this.attempt(trigger);
    if (done)
      this.opts.log({
        event: 'apply',
        reason,
        changed: done.changes.length > 0,
        ...done,
        ms: Math.round(performance.now() - t0),
      });
  }

  private repair(reasons: string[], since: number): void {
    const trigger = withoutImplied(reasons);
    const t0 = performance.now();
    const done = this.attempt(trigger);
    if (!done || done.changes.length === 0) return;
    const end = performance.now();
    this.opts.log({
      event: 'repair',
      trigger,
      ...done,
      ms: Math.round(end - t0),
      sinceEventMs: Math.round(end - since),
    });
  }

  /** One apply; afterwards the scope and the cgroup watches follow the state. Undefined on failure (logged, retry armed). */
  private attempt(trigger: string[]): Outcome | undefined {
    let report: ApplyReport;
    let absent: string[] = [];
    this.overrunsLogged.clear(); // this apply checks everything: a later overrun is news again
    try {
      if (this.forgetNext) this.reconciler.invalidate();
      this.forgetNext = false;
      absent = this.backend.deferRoutesVia(this.scope.devices);
      report = this.reconciler.apply(this.config);
    } catch (err) {
      this.failures++;
      const retryInMs = Math.min(1000 * 2 ** (this.failures - 1), MAX_RETRY_MS);
      const message = (err as Error).message;
      const key = `${errorCode(err)}: ${message}`;
      if (key !== this.lastError)
        this.opts.log({ event: 'error', trigger, code: errorCode(err), message, retryInMs });
      this.lastError = key;
      if (!this.stopped) this.arm(retryInMs, true);
      this.refreshScope();
      return undefined;
    }
    this.failures = 0;
    this.lastError = '';
    // Said once the apply made it true: the routes through these wait (or, [], are back).
    if (absent.join(', ') !== this.waitingFor) {
      this.opts.log({ event: 'waiting', devices: absent });
      this.waitingFor = absent.join(', ');
    }
    this.appliedIds = new Map(
      report.matches.filter((m) => m.id !== undefined).map((m) => [m.profile, m.id!]),
    );
    this.appliedExisting = new Map(
      report.matches.filter((m) => m.existing).map((m) => [m.profile, idList(m.existing!)]),
    );
    this.refreshScope();
    return outcomeOf(report, this.backend);
  }

  private refreshScope(): void {
    try {
      this.scope = this.computeScope();
    } catch {
      /* keep the previous scope: it is only a filter, and the next apply reports the problem */
    }
    this.watchCgroups();
    // A cgroup that appeared between the apply's read and the watches above sent its event to no one.
    const root = this.scope.existing.size > 0 ? findCgroup2() : undefined;
    if (root && !this.stopped) this.checkExisting(root);
  }

  /**
   * fs.watch on the parent directories of the cgroup v2 profile cgroups: a
   * re-created cgroup has a new ID that netcg's maps must follow. Any event on a
   * parent (cgroupfs reports mkdir/rmdir there, but sometimes only as a nameless
   * attribute change of the parent itself) leads to the same cheap check: the
   * profiles' cgroup IDs as they are now against those last applied. Only a
   * difference triggers a repair, so the daemon's own cgroup work cannot feed
   * itself. A watch dies with its directory; it is made again after the next
   * apply (which re-creates the directory).
   */
  private watchCgroups(): void {
    const root = this.scope.cgroupsV2.size + this.scope.existing.size > 0 ? findCgroup2() : undefined;
    const dirs = new Set<string>();
    if (root) for (const path of this.scope.cgroupsV2.values()) dirs.add(dirname(join(root, path)));
    // Existing cgroups: every directory a match could appear in, at each level the pattern reached.
    if (root)
      for (const pattern of this.scope.existing.values())
        for (const dir of walkCgroupPattern(root, pattern).dirs) dirs.add(dir);
    for (const [dir, w] of this.cgroupWatchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.cgroupWatchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.cgroupWatchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = fsWatch(dir, { persistent: true }, () => this.checkCgroupIds());
      } catch {
        continue; // not there yet: the next apply creates it, and the watch follows
      }
      w.on('error', () => {
        w.close();
        if (this.cgroupWatchers.get(dir) === w) this.cgroupWatchers.delete(dir);
        this.trigger(`cgroup directory ${dir} removed`, true);
      });
      this.cgroupWatchers.set(dir, w);
    }
  }

  /** Triggers a repair for each v2 profile whose cgroup is gone or has another ID than the one applied. */
  private checkCgroupIds(): void {
    const root = findCgroup2();
    if (!root || this.stopped) return;
    const now = readCgroupIds(
      root,
      [...this.scope.cgroupsV2].map(([profile, path]) => ({ profile, path })),
    );
    for (const [profile, path] of this.scope.cgroupsV2) {
      const applied = this.appliedIds.get(profile);
      const current = now[profile]?.toString();
      if (current === applied) continue;
      const dir = join(root, path);
      this.trigger(
        current === undefined
          ? `cgroup ${dir} removed`
          : `cgroup ${dir} re-created (ID ${applied ?? 'none'} -> ${current})`,
        true,
      );
    }
    if (this.scope.existing.size > 0) this.checkExisting(root);
  }

  /**
   * Existing-cgroup profiles: the cgroups their patterns match now against those
   * last applied (a service restarted: new cgroup, new ID; a scope appeared or went).
   * The watches then follow the pattern's directories (a new slice can be watched
   * only once it exists).
   */
  private checkExisting(root: string): void {
    for (const [profile, pattern] of this.scope.existing) {
      const now = idList(walkCgroupPattern(root, pattern).matches.map((m) => ({ id: m.id.toString() })));
      const applied = this.appliedExisting.get(profile) ?? '';
      if (now === applied) continue;
      this.trigger(`cgroup ${join(root, pattern)} of profile ${profile}: IDs [${applied}] -> [${now}]`);
    }
    this.watchCgroups();
  }
}

/** IDs as one comparable string: decimal, sorted, joined by ' '. */
function idList(cgroups: ReadonlyArray<{ id: string }>): string {
  return cgroups
    .map((c) => c.id)
    .sort()
    .join(' ');
}

/**
 * Runs the daemon until SIGTERM or SIGINT (resolves then; exit status 0 is the
 * caller's). SIGHUP re-reads the config. Rejects with a WatchFatalError (after
 * logging a `fatal` record) when the daemon cannot go on: its monitor failed or
 * stopped, an exception nobody caught, or Node's loop running empty.
 */
export async function runWatch(opts: WatchOptions): Promise<void> {
  const daemon = new WatchDaemon(opts);
  const onHup = () => daemon.reload();
  const onStop = (signal: NodeJS.Signals) => daemon.stop(signal);
  const onUncaught = (err: unknown) =>
    daemon.die('uncaught-exception', err instanceof Error ? (err.stack ?? err.message) : String(err));
  // The watchdog's interval keeps the loop alive, so this only fires if that is gone too.
  const onEmpty = () => daemon.die('event-loop-empty', 'nothing left to wait for (no event source is open)');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  process.on('beforeExit', onEmpty);
  try {
    daemon.start();
    await daemon.done;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    process.off('beforeExit', onEmpty);
  }
}
