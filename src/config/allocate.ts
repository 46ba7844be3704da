// Routing numbers netcg picks itself: a profile that routes and has neither a
// classid nor route.table/route.mark gets a table and a mark (one number, used
// as both) from here. Pure: the host's numbers in use are passed in.
//
// How a number is derived (docs/config.md, "Numbers netcg picks"): the profiles
// that share an allocation are those with the same *key*, the route settings that
// must agree within one routing table (via, copyLinkRoutes, failClosed,
// masquerade). Candidate i for a key is AUTO_BASE + the first 24 bits of
// sha256("netcg route <key> #<i>"). The key takes the first candidate that no
// other profile of the config sets explicitly, no other key took before it (keys
// are visited in sorted order) and the host does not use (a foreign route or ip
// rule in that table, a foreign ip rule whose fwmark/mask matches it).
//
// Why it is stable: the number depends on the key and on nothing else of the
// config: not on the profile's position, not on the other profiles (unless two
// keys' candidates collide: 1 in 16.7 million per pair, then the key that sorts
// first keeps it), not on a counter kept anywhere. The same config on the same
// host gives the same numbers after a reboot.
import { createHash } from 'node:crypto';

import {
  DEFAULT_FAIL_CLOSED,
  gatewaysText,
  type Config,
  type ProfileConfig,
  type RouteConfig,
} from './schema.js';

/** 0x6e = 'n': netcg's numbers are 0x6e000000..0x6effffff, as tables (1845493760..) and marks alike. */
export const AUTO_BASE = 0x6e000000;
export const AUTO_SLOTS = 0x1000000;
/** Candidates tried per key before giving up (each taken one needs a 1-in-16.7M coincidence or a busy host). */
export const AUTO_ATTEMPTS = 64;

/** What the host uses already, not counting netcg's own (protocol 110) routes and rules. */
export interface HostNumbers {
  /** Whether routing table `table` holds a route or is the target of an ip rule that is not netcg's. */
  tableInUse(table: number): boolean;
  /** fwmark/mask of the ip rules that are not netcg's (mask 0xffffffff when the rule has none). */
  readonly marks: ReadonlyArray<{ readonly mark: number; readonly mask: number }>;
}

/** Numbers the config itself sets (explicit route.table/route.mark, or derived from classids). */
export interface ConfigNumbers {
  readonly tables: ReadonlySet<number>;
  readonly marks: ReadonlySet<number>;
}

/** The settings that profiles sharing one routing table and mark must agree on. */
export interface AllocationSettings {
  via: string;
  /** gatewaysText of the route: '' without gateways (and then not part of the key, so older numbers stay). */
  gateways?: string;
  copyLinkRoutes: boolean;
  failClosed: boolean;
  masquerade: boolean;
}

export function allocationKey(s: AllocationSettings): string {
  const gateways = s.gateways ? ` ${s.gateways}` : '';
  return `via=${s.via}${gateways} copyLinkRoutes=${s.copyLinkRoutes} failClosed=${s.failClosed} masquerade=${s.masquerade}`;
}

function routeKey(r: RouteConfig): string {
  return allocationKey({ ...r, gateways: gatewaysText(r), failClosed: r.failClosed ?? DEFAULT_FAIL_CLOSED });
}

/** Candidate `attempt` for `key`: AUTO_BASE + 24 bits of sha256. */
export function candidate(key: string, attempt: number): number {
  const digest = createHash('sha256').update(`netcg route ${key} #${attempt}`).digest();
  return AUTO_BASE + digest.readUIntBE(0, 3);
}

export function isAutoNumber(n: number): boolean {
  return n >= AUTO_BASE && n < AUTO_BASE + AUTO_SLOTS;
}

/** Whether a foreign ip rule's fwmark/mask would match packets carrying mark `n`. */
function markInUse(n: number, host: HostNumbers | undefined): boolean {
  if (!host) return false;
  return host.marks.some(({ mark, mask }) => (n & mask) >>> 0 === (mark & mask) >>> 0);
}

export class AllocationError extends Error {
  constructor(readonly key: string) {
    super(`no free routing table/mark for ${key} after ${AUTO_ATTEMPTS} candidates`);
  }
}

/**
 * The number (table = mark) of each key. Deterministic in its inputs; a key's
 * number changes only when one of its earlier candidates becomes free or taken.
 * Throws AllocationError when a key finds no free candidate.
 */
export function allocate(
  keys: Iterable<string>,
  config: ConfigNumbers,
  host?: HostNumbers,
): Map<string, number> {
  const taken = new Set<number>();
  const out = new Map<string, number>();
  for (const key of [...new Set(keys)].sort()) {
    let found: number | undefined;
    for (let i = 0; i < AUTO_ATTEMPTS && found === undefined; i++) {
      const n = candidate(key, i);
      if (taken.has(n) || config.tables.has(n) || config.marks.has(n)) continue;
      if (markInUse(n, host) || host?.tableInUse(n)) continue;
      found = n;
    }
    if (found === undefined) throw new AllocationError(key);
    taken.add(found);
    out.set(key, found);
  }
  return out;
}

/**
 * `config` with the numbers netcg picked checked against the host: the same
 * object when none collides with what the host uses (the usual case), else a copy
 * whose picked numbers were chosen again with `host` (the other profiles keep
 * theirs). Throws AllocationError when nothing is free.
 */
export function withHostNumbers(config: Config, host: HostNumbers): Config {
  const picked = Object.values(config.profiles).filter((p) => p.route?.allocated);
  if (picked.length === 0) return config;
  const clash = picked.some((p) => markInUse(p.route!.mark, host) || host.tableInUse(p.route!.table));
  if (!clash) return config;
  const tables = new Set<number>();
  const marks = new Set<number>();
  for (const p of Object.values(config.profiles)) {
    if (!p.route || p.route.allocated) continue;
    tables.add(p.route.table);
    marks.add(p.route.mark);
  }
  const numbers = allocate(
    picked.map((p) => routeKey(p.route!)),
    { tables, marks },
    host,
  );
  const profiles: Record<string, ProfileConfig> = {};
  for (const [name, p] of Object.entries(config.profiles)) {
    const n = p.route?.allocated ? numbers.get(routeKey(p.route))! : undefined;
    profiles[name] =
      n === undefined || n === p.route!.table ? p : { ...p, route: { ...p.route!, table: n, mark: n } };
  }
  return { ...config, profiles };
}
