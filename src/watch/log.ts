// What `netcg watch` reports: one record per thing that happened, written as one
// human line on stderr or as one JSON object per line on stdout (--json; the
// schema is docs/watch-json.md). The daemon builds records; only this file
// knows how they look.
import type { ConfigIssue } from '../shared/errors.js';
import type { PlanSummary } from '../plan/plan.js';
import type { Change } from '../plan/plan.js';

export const WATCH_JSON_VERSION = 1;

/** One changed object, as in `netcg diff --json` (without before/after). */
export interface ChangeRef {
  action: Change['action'];
  kind: Change['kind'];
  id: string;
}

export type WatchRecord =
  | {
      event: 'start';
      config: string;
      netns: string | null;
      debounceMs: number;
      pid: number;
      /** With --trust-config: why the config would have been refused (only when there is a reason). */
      trustOverridden?: string[];
    }
  | {
      event: 'apply';
      reason: 'start' | 'reload';
      changed: boolean;
      summary: PlanSummary;
      changes: ChangeRef[];
      ms: number;
    }
  /** An event-driven apply that changed something: what triggered it, what it changed, how long it took. */
  | {
      event: 'repair';
      trigger: string[];
      summary: PlanSummary;
      changes: ChangeRef[];
      ms: number;
      sinceEventMs: number;
    }
  | { event: 'error'; trigger: string[]; code: string; message: string; retryInMs: number }
  /** The `via` interfaces (and copied-route devices) now missing or down, whose routes wait for them; [] when all are back. */
  | { event: 'waiting'; devices: string[] }
  /** SIGHUP found a config that cannot be used (`code`: ECONFIG, ENOCONFIG, EUNTRUSTEDCONFIG); the running one is kept. */
  | { event: 'config-error'; file: string; code: string; message: string; issues: ConfigIssue[] }
  | { event: 'stop'; signal: string }
  /** Events of `bus` were lost (its receive buffer overflowed): a full check follows. Once per bus until that check ran. */
  | { event: 'overrun'; bus: 'rtnl' | 'nft' }
  /** The daemon cannot go on and exits with `exitStatus` (non-zero: systemd's Restart=on-failure restarts it). */
  | { event: 'fatal'; reason: FatalReason; message: string; exitStatus: number };

/** Why the daemon gave up: its monitor stopped or failed, an exception nobody caught, or nothing left to wait for. */
export type FatalReason = 'monitor-failed' | 'monitor-stopped' | 'uncaught-exception' | 'event-loop-empty';

export type WatchLogger = (record: WatchRecord) => void;

export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l)): WatchLogger {
  return (record) =>
    write(`${JSON.stringify({ version: WATCH_JSON_VERSION, time: new Date().toISOString(), ...record })}\n`);
}

const MAX_LISTED = 6;

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

function counts(s: PlanSummary): string {
  return `${s.add} added, ${s.change} changed, ${s.destroy} destroyed`;
}

const changeText = (c: ChangeRef) => `${c.action}${c.kind} ${c.id}`;

/** One line per record, for a person or the journal (no colour: it is a log). */
export function textLine(r: WatchRecord): string {
  switch (r.event) {
    case 'start':
      return `watching ${r.netns ?? 'this network namespace'} for ${r.config} (pid ${r.pid}, debounce ${r.debounceMs} ms)${(r.trustOverridden ?? []).map((t) => `\nnetcg watch: warning: --trust-config: using it although ${t}`).join('')}`;
    case 'apply':
      return r.changed
        ? `applied ${r.reason === 'start' ? 'at start' : 'the reloaded config'} in ${r.ms} ms: ${counts(r.summary)}: ${listed(r.changes.map(changeText))}`
        : `${r.reason === 'start' ? 'at start' : 'config reloaded'}: the kernel already matches (checked in ${r.ms} ms)`;
    case 'repair':
      return `repaired in ${r.ms} ms (${r.sinceEventMs} ms after the first event) after ${listed(r.trigger)}: ${counts(r.summary)}: ${listed(r.changes.map(changeText))}`;
    case 'error':
      return `error: ${r.code}: ${r.message} (after ${listed(r.trigger)}; next try on a relevant event or in ${r.retryInMs} ms)`;
    case 'waiting':
      return r.devices.length > 0
        ? `waiting for ${r.devices.join(', ')} (missing or down): routes through ${r.devices.length > 1 ? 'them' : 'it'} are added when ${r.devices.length > 1 ? 'they are' : 'it is'} up; until then the rest of the policy is kept in force and routed members fail closed`
        : 'all interfaces are back up: the routes through them are in place';
    case 'config-error':
      return `error: cannot reload ${r.file}, keeping the running config:\n${r.issues.length > 0 ? r.issues.map((i) => `  ${i.file}:${i.line}:${i.col}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n') : `  ${r.message}`}`;
    case 'stop':
      return `stopping on ${r.signal}`;
    case 'overrun':
      return `events lost: the ${r.bus} receive buffer overflowed; checking everything`;
    case 'fatal':
      return `fatal: ${r.reason}: ${r.message}; exiting with status ${r.exitStatus}`;
  }
}

export function textLogger(write: (line: string) => void = (l) => process.stderr.write(l)): WatchLogger {
  return (record) => write(`netcg watch: ${textLine(record)}\n`);
}
