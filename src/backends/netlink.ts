// The netlink backend: every effect goes through the addon's NetlinkHandle, bound
// to the target network namespace. No process is ever spawned.
import {
  FAIL_CLOSED_METRIC,
  NETCG_RTPROT,
  type DefaultGateway,
  type HostFacts,
  type IpRuleSpec,
  type RouteSpec,
  type TableState,
} from '../shared/model.js';
import type { HostNumbers } from '../config/allocate.js';
import type { NetlinkHandle, NftOp, RtRoute, RtRouteFilter } from '../native/types.js';
import { openHandle } from '../native/index.js';
import { encodeOps } from '../native/optape.js';
import { tableFromDump } from '../state/from-dump.js';
import { mapAddOp } from '../plan/table.js';
import { readTape } from '../state/nft-tape.js';
import type {
  Backend,
  HostFactsQuery,
  LinkInfo,
  OwnedState,
  ReadState,
  RouteTables,
  RtnlOp,
} from './types.js';

const RTPROT_KERNEL = 2;
const RT_TABLE_MAIN = 254;
const SCOPE = { universe: 0, link: 253 } as const;
const RTN = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 } as const;

function byValue<T extends Record<string, number>>(map: T, value: number | undefined): keyof T | undefined {
  return (Object.keys(map) as Array<keyof T>).find((k) => map[k] === value);
}

/** The nf_tables messages that replace netcg's table in one transaction, in creation order. */
export function replaceTableOps(t: TableState): NftOp[] {
  const base = { family: t.family, table: t.name } as const;
  const ops: NftOp[] = [
    // add-then-delete makes "replace" work whether or not the table exists, inside one batch.
    { verb: 'add', object: 'table', family: t.family, name: t.name },
    { verb: 'delete', object: 'table', family: t.family, name: t.name },
    { verb: 'add', object: 'table', family: t.family, name: t.name },
  ];
  for (const m of t.maps) ops.push(mapAddOp(base, m));
  for (const c of t.chains)
    ops.push({ verb: 'add', object: 'chain', ...base, name: c.name, ...(c.hook ? { hook: c.hook } : {}) });
  for (const m of t.maps)
    if (m.elements.length > 0)
      ops.push({ verb: 'add', object: 'element', ...base, set: m.name, elements: m.elements });
  for (const c of t.chains)
    for (const r of c.rules)
      ops.push({ verb: 'add', object: 'rule', ...base, chain: c.name, exprs: r.exprs });
  return ops;
}

function splitCidr(cidr: string): { dst: string; dstLen: number } {
  const [addr, len] = cidr.split('/');
  return { dst: addr ?? '', dstLen: Number(len) };
}

/** The route dumps a NetlinkBackend asked for since it was opened (tests and benchmarks read it). */
export interface RouteDumpStats {
  /** Dumps by the routing table they named; 'all' is a dump without one, which walks every table. */
  readonly byTable: Map<number | 'all', number>;
  /** Routes the kernel sent back (it filters by table, protocol, type and device itself). */
  routes: number;
}

export class NetlinkBackend implements Backend {
  readonly name = 'netlink' as const;
  private readonly h: NetlinkHandle;
  readonly routeDumps: RouteDumpStats = { byTable: new Map(), routes: 0 };

  constructor(readonly netns?: string) {
    this.h = openHandle(netns);
  }

  links(): LinkInfo[] {
    return this.h.linkDump().map((l) => ({ index: l.index, name: l.name, up: l.up }));
  }

  private linkNames(): Map<number, string> {
    return new Map(this.links().map((l) => [l.index, l.name]));
  }

  private toRouteSpec(r: RtRoute, names: Map<number, string>): RouteSpec {
    const type = byValue(RTN, r.type) ?? 'unicast';
    return {
      family: r.family,
      table: r.table,
      dst: `${r.dst}/${r.dstLen}`,
      // A fail-closed route has no device (IPv6 reports lo, which netcg never asked for).
      dev: type !== 'unicast' ? '' : (names.get(r.oif ?? -1) ?? `if${r.oif}`),
      ...(r.gateway && type === 'unicast' ? { gateway: r.gateway } : {}),
      scope: r.scope === SCOPE.link ? 'link' : 'universe',
      protocol: r.protocol ?? 0,
      type,
    };
  }

  private routeDump(filter: RtRouteFilter): RtRoute[] {
    const key = filter.table ?? 'all';
    this.routeDumps.byTable.set(key, (this.routeDumps.byTable.get(key) ?? 0) + 1);
    const routes = this.h.routeDump(filter);
    this.routeDumps.routes += routes.length;
    return routes;
  }

  hostFacts(query: HostFactsQuery = {}): HostFacts {
    const names = this.linkNames();
    const linkRoutes: HostFacts['linkRoutes'] = [];
    for (const family of query.linkRoutes === false ? [] : ([4, 6] as const)) {
      // The kernel's own unicast routes of the main table only: a full routing table costs nothing here.
      for (const r of this.routeDump({
        family,
        table: RT_TABLE_MAIN,
        protocol: RTPROT_KERNEL,
        type: RTN.unicast,
      })) {
        if (r.table !== RT_TABLE_MAIN || r.protocol !== RTPROT_KERNEL || r.type !== RTN.unicast || r.gateway)
          continue;
        if (family === 4 && r.scope !== SCOPE.link) continue;
        if (family === 6 && (r.dst.startsWith('fe80:') || r.dst.startsWith('ff'))) continue;
        const dev = names.get(r.oif ?? -1);
        if (dev) linkRoutes.push({ family, dst: `${r.dst}/${r.dstLen}`, dev });
      }
    }
    const devices = query.gatewayDevices ?? [];
    return devices.length > 0
      ? { linkRoutes, defaultGateways: this.defaultGateways(devices, names) }
      : { linkRoutes };
  }

  /**
   * The main table's default routes through a gateway on `devices`, the lowest metric
   * per device and family (the one the kernel uses). Asked of the kernel by table, type
   * and device: a full routing table in main costs nothing here.
   */
  private defaultGateways(devices: readonly string[], names: Map<number, string>): DefaultGateway[] {
    const out: DefaultGateway[] = [];
    for (const [oif, dev] of names) {
      if (!devices.includes(dev)) continue;
      for (const family of [4, 6] as const) {
        let best: RtRoute | undefined;
        for (const r of this.routeDump({ family, table: RT_TABLE_MAIN, type: RTN.unicast, oif }))
          if (r.table === RT_TABLE_MAIN && r.dstLen === 0 && r.oif === oif && r.gateway)
            if (!best || (r.priority ?? 0) < (best.priority ?? 0)) best = r;
        if (best) out.push({ family, dev, gateway: best.gateway! });
      }
    }
    return out;
  }

  /**
   * Foreign ip rules (read once) and, per asked table, whether a route that is not
   * netcg's lives there (a dump of that table only, both families, asked lazily).
   */
  hostNumbers(): HostNumbers {
    const rules = ([4, 6] as const)
      .flatMap((f) => this.h.ruleDump(f))
      .filter((r) => r.protocol !== NETCG_RTPROT);
    const ruleTables = new Set(rules.map((r) => r.table));
    const marks = rules
      .filter((r) => r.fwmark !== undefined && r.fwmark !== 0)
      .map((r) => ({ mark: r.fwmark!, mask: r.fwmask ?? 0xffffffff }));
    const asked = new Map<number, boolean>();
    const tableInUse = (table: number): boolean => {
      let used = asked.get(table);
      if (used === undefined) {
        used =
          ruleTables.has(table) ||
          ([4, 6] as const).some((f) =>
            this.routeDump({ family: f, table }).some(
              (r) => r.table === table && r.protocol !== NETCG_RTPROT,
            ),
          );
        asked.set(table, used);
      }
      return used;
    };
    return { tableInUse, marks };
  }

  readOwned(table: string): OwnedState {
    return { tableExists: this.tableExists(table), ...this.ownedRtnl() };
  }

  /**
   * netcg's ip rules and routes: those tagged with its protocol number. The routes of every table, or with
   * `tables` those of these tables and of the tables netcg's rules point at, asked of the kernel table by table.
   */
  ownedRtnl(tables?: RouteTables): Pick<OwnedState, 'ipRules' | 'routes'> {
    const ipRules = ([4, 6] as const).flatMap((family) =>
      this.h.ruleDump({ family, protocol: NETCG_RTPROT }).flatMap((r): IpRuleSpec[] =>
        r.protocol !== NETCG_RTPROT
          ? []
          : [
              {
                family,
                priority: r.priority ?? 0,
                table: r.table,
                fwmark: r.fwmark ?? 0,
                protocol: NETCG_RTPROT,
                ...(r.fwmask !== undefined ? { fwmask: r.fwmask } : {}),
              },
            ],
      ),
    );
    const names = this.linkNames();
    const routes: RouteSpec[] = [];
    // Asked of the kernel by protocol: the host's other routes are never sent, however many.
    const filters: RtRouteFilter[] = ([4, 6] as const).flatMap((family) =>
      tables === undefined
        ? [{ family, protocol: NETCG_RTPROT }]
        : // By table too: the kernel then walks only that table, not the host's main table.
          [...new Set([...tables, ...ipRules.map((r) => r.table)])]
            .sort((a, b) => a - b)
            .map((table) => ({ family, table, protocol: NETCG_RTPROT })),
    );
    for (const f of filters)
      for (const r of this.routeDump(f))
        if (r.protocol === NETCG_RTPROT) routes.push(this.toRouteSpec(r, names));
    return { ipRules, routes };
  }

  private tableExists(name: string): boolean {
    try {
      return this.h
        .nftDump({ family: 'inet', table: name })
        .tables.some((t) => t.name === name && t.family === 'inet');
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw err;
    }
  }

  readState(table: string, routeTables?: RouteTables): ReadState {
    // The dump first: its genid guards the batch that will follow, so any change
    // made after this point makes the commit fail rather than silently race.
    // As a tape read by JS: the same NftDump, built several times faster (see src/state/nft-tape.ts).
    const dump = readTape(this.h.nftDump({ family: 'inet', table }, { tape: true }));
    return { genid: dump.genid, table: tableFromDump(dump, table), ...this.ownedRtnl(routeTables) };
  }

  /**
   * The nf_tables generation id now (one NFT_MSG_GETGEN round trip). Every commit,
   * by anyone, moves it by one: the Reconciler compares it with the one it left.
   */
  nftGenid(): number {
    return this.h.nftGenid();
  }

  commitNft(ops: NftOp[], genid?: number): void {
    this.h.nftCommit(encodeOps(ops), genid === undefined ? {} : { genid });
  }

  replaceTable(table: TableState): void {
    this.h.nftCommit(encodeOps(replaceTableOps(table)));
  }

  deleteTable(name: string): boolean {
    if (!this.tableExists(name)) return false;
    this.h.nftCommit([{ verb: 'delete', object: 'table', family: 'inet', name }]);
    return true;
  }

  rtnl(op: RtnlOp): void {
    if (op.kind === 'rule') {
      const { family, priority, table, fwmark, fwmask, protocol } = op.rule;
      const rule = { family, priority, table, fwmark, protocol, ...(fwmask !== undefined ? { fwmask } : {}) };
      if (op.verb === 'add') this.h.ruleAdd(rule);
      else this.h.ruleDel(rule);
      return;
    }
    const r = op.route;
    const oif = this.links().find((l) => l.name === r.dev)?.index;
    const route: RtRoute = {
      family: r.family,
      table: r.table,
      ...splitCidr(r.dst),
      ...(oif !== undefined ? { oif } : {}),
      ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
      scope: SCOPE[r.scope],
      protocol: r.protocol,
      type: RTN[r.type],
      ...(r.type !== 'unicast' ? { priority: FAIL_CLOSED_METRIC } : {}),
    };
    if (op.verb === 'add') this.h.routeAdd(route);
    else this.h.routeDel(route);
  }

  close(): void {
    this.h.close();
  }
}
