// Which kernel events can have broken netcg's state, for one config. Pure: the
// daemon (daemon.ts) feeds it the monitor's events and gets back the reasons to
// reconcile, if any.
//
// Why filter at all: the monitor sees every change in the namespace (a busy
// host has route and link churn netcg does not care about); re-planning on each
// would be cheap but noisy. Why not filter harder: a missed trigger is a leak
// until the next one, an extra one is a no-op plan. So anything that *could*
// matter counts: an overrun (events lost) always does.
import type { Config } from '../config/index.js';
import type { DesiredState } from '../shared/model.js';
import { NETCG_RTPROT } from '../shared/model.js';
import type { NetlinkEvent } from '../native/types.js';

const RT_TABLE_MAIN = 254;
const RTPROT_KERNEL = 2;

/** What netcg's state depends on, derived from the desired state of one config. */
export interface WatchScope {
  /** netcg's nf_tables table (family inet). */
  table: string;
  /** `route.via` interfaces: their routes vanish with them. */
  devices: ReadonlySet<string>;
  /** Routing tables netcg's ip rules and routes use. */
  tables: ReadonlySet<number>;
  /**
   * `via` interfaces of routes through a gateway: main-table default routes on them are
   * what `auto` follows, their addresses and link routes say whether a gateway is on-link.
   */
  gatewayDevices: ReadonlySet<string>;
  /** Some profile copies the host's link routes: address and main-table link route changes matter. */
  copiesLinkRoutes: boolean;
  /** Profile name -> cgroup path below the cgroup2 mount, for the `match: cgroupv2` profiles' own cgroups. */
  cgroupsV2: ReadonlyMap<string, string>;
  /** Profile name -> `cgroup:` pattern ('/system.slice/x.service'), for existing-cgroup profiles. */
  existing: ReadonlyMap<string, string>;
}

export function scopeOf(config: Config, desired: DesiredState): WatchScope {
  return {
    table: desired.table.name,
    // With `auto` unresolved the table has no route on `via`: the config names it too.
    devices: new Set([
      ...desired.routes.map((r) => r.dev).filter((d) => d !== ''),
      ...Object.values(config.profiles).flatMap((p) => (p.route ? [p.route.via] : [])),
    ]),
    gatewayDevices: new Set(
      Object.values(config.profiles).flatMap((p) =>
        p.route && (p.route.gateway !== undefined || p.route.gateway6 !== undefined) ? [p.route.via] : [],
      ),
    ),
    tables: new Set([...desired.routes.map((r) => r.table), ...desired.ipRules.map((r) => r.table)]),
    copiesLinkRoutes: Object.values(config.profiles).some((p) => p.route?.copyLinkRoutes === true),
    cgroupsV2: new Map(
      desired.cgroups
        .filter((c) => c.hierarchy === 'cgroupv2' && !c.existing)
        .map((c) => [c.profile, c.path]),
    ),
    existing: new Map(desired.cgroups.filter((c) => c.existing).map((c) => [c.profile, `/${c.path}`])),
  };
}

/**
 * Why `event` may have changed netcg's state, in a few words for the log, or
 * undefined when it cannot have. `ifnames` maps interface indexes to names as
 * last seen (link events carry the name; address events only the index).
 */
export function triggerOf(
  event: NetlinkEvent,
  scope: WatchScope,
  ifnames: ReadonlyMap<number, string>,
): string | undefined {
  switch (event.source) {
    case 'overrun':
      return `events lost (${event.bus} receive buffer overrun)`;
    case 'error':
      return undefined; // the monitor stopped: the daemon's concern (daemon.ts), not a repair's
    case 'link': {
      const name = event.ifname ?? ifnames.get(event.ifindex);
      if (name === undefined || !scope.devices.has(name)) return undefined;
      return event.type === 'del' ? `link ${name} deleted` : `link ${name} ${event.up ? 'up' : 'down'}`;
    }
    case 'addr': {
      const name = ifnames.get(event.ifindex) ?? `if${event.ifindex}`;
      if (!scope.copiesLinkRoutes && !scope.gatewayDevices.has(name)) return undefined;
      return `address ${event.address ?? '?'}/${event.prefixLen} ${event.type === 'new' ? 'added to' : 'removed from'} ${name}`;
    }
    case 'route': {
      // Decided on the table (RTA_TABLE: the full 32-bit id) and, for main, the prefix
      // length and device, with no dump and no string built: a routing daemon's churn
      // in other tables costs next to nothing.
      const ours = scope.tables.has(event.table);
      // The kernel's own link routes in main are what copyLinkRoutes copies.
      const copied =
        scope.copiesLinkRoutes && event.table === RT_TABLE_MAIN && event.protocol === RTPROT_KERNEL;
      if (!ours && !copied && !followedDefault(event, scope, ifnames)) return undefined;
      return `ipv${event.family} route ${event.dst}/${event.dstLen} table ${event.table} ${event.type === 'new' ? 'added' : 'deleted'}`;
    }
    case 'rule': {
      if (!scope.tables.has(event.table) && event.protocol !== NETCG_RTPROT) return undefined;
      return `ipv${event.family} rule ${event.priority ?? '?'} lookup ${event.table} ${event.type === 'new' ? 'added' : 'deleted'}`;
    }
    case 'nft': {
      if (event.type === 'newgen') return undefined;
      if (event.table !== scope.table || (event.family !== undefined && event.family !== 'inet'))
        return undefined;
      const object =
        event.chain !== undefined ? ` ${event.chain}` : event.set !== undefined ? ` ${event.set}` : '';
      return `nft ${event.type}${object} in inet ${event.table}`;
    }
  }
}

/**
 * A main-table default route (what `auto` resolves to) or kernel link route (whether a
 * gateway is on-link) on an interface routed through a gateway; no device known: maybe.
 */
function followedDefault(
  event: Extract<NetlinkEvent, { source: 'route' }>,
  scope: WatchScope,
  ifnames: ReadonlyMap<number, string>,
): boolean {
  if (event.table !== RT_TABLE_MAIN || scope.gatewayDevices.size === 0) return false;
  if (event.dstLen !== 0 && event.protocol !== RTPROT_KERNEL) return false;
  const name = event.oif === undefined ? undefined : ifnames.get(event.oif);
  return name === undefined || scope.gatewayDevices.has(name);
}

/** A table deletion also deletes everything in it: the kernel reports each object, the log names the table once. */
export function withoutImplied(reasons: string[]): string[] {
  const deleted = reasons
    .map((r) => /^nft deltable in (.+)$/.exec(r)?.[1])
    .filter((t): t is string => t !== undefined);
  if (deleted.length === 0) return reasons;
  return reasons.filter(
    (r) =>
      !/^nft del(rule|chain|set|setelem|obj|flowtable) /.test(r) ||
      !deleted.some((t) => r.endsWith(` in ${t}`)),
  );
}

/**
 * Drops nf_tables events that belong to commits made by process `ownPid` (the
 * daemon's own repairs). The kernel sends a commit's object notifications and
 * then one `newgen` naming the committing process, so object events are held
 * until their `newgen` arrives (possibly in a later batch: hence a class).
 */
export class OwnCommitFilter {
  private held: NetlinkEvent[] = [];

  constructor(private readonly ownPid: number) {}

  /** The events of `batch` to consider; nf_tables events of own commits removed, those of unfinished commits held back. */
  feed(batch: readonly NetlinkEvent[]): NetlinkEvent[] {
    const out: NetlinkEvent[] = [];
    for (const e of batch) {
      if (e.source !== 'nft') {
        out.push(e);
      } else if (e.type !== 'newgen') {
        this.held.push(e);
      } else {
        if (e.pid !== this.ownPid) out.push(...this.held);
        this.held = [];
      }
    }
    return out;
  }

  /** Events still waiting for their generation (a newgen never seen): treated as foreign. */
  flush(): NetlinkEvent[] {
    const out = this.held;
    this.held = [];
    return out;
  }
}
