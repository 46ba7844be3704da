// A backend is where netcg's desired state meets a kernel: the netlink backend
// (the addon, no process spawned) and the nft backend (`nft -f`, `ip -batch`:
// the tests' oracle and a fallback). Both expose the same small set of effects;
// src/apply/apply.ts sequences them, so ordering and rollback are written once.
import type { HostNumbers } from '../config/allocate.js';
import type { HostFacts, IpRuleSpec, RouteSpec, TableState } from '../shared/model.js';
import type { NftOp } from '../native/types.js';
import type { CurrentState, RtnlOp } from '../plan/types.js';

export type { RtnlOp } from '../plan/types.js';

export type BackendName = 'netlink' | 'nft';

export interface LinkInfo {
  index: number;
  name: string;
  up: boolean;
}

/** netcg's own objects currently in the kernel (selected by table name / protocol number). */
export interface OwnedState {
  tableExists: boolean;
  ipRules: IpRuleSpec[];
  routes: RouteSpec[];
}

/** netcg's objects as read back, plus the nf_tables generation they were read at. */
export interface ReadState extends CurrentState {
  /** Generation id of the dump; a batch guarded by it fails with ERESTART if anyone changed nf_tables since. */
  genid?: number;
}

/**
 * The routing tables to look for netcg's routes in, besides those its ip rules point at. A dump of
 * one table costs what that table holds; a dump of all tables walks the host's whole routing table
 * (the main table of a full-table router: 500,000 routes), however few routes it returns.
 */
export type RouteTables = ReadonlySet<number>;

/** What hostFacts reads. Each main-table read walks the host's main table, however few routes it returns. */
export interface HostFactsQuery {
  /** Read the main table's link routes (copyLinkRoutes copies them); default true. False: `linkRoutes` is []. */
  linkRoutes?: boolean;
  /** Interfaces of `gateway: auto` routes (compile's gatewayDevicesOf): their main-table default routes are read. */
  gatewayDevices?: readonly string[];
}

export interface Backend {
  readonly name: BackendName;
  /** The network namespace it acts in (a path such as /run/netns/x); undefined = the caller's. */
  readonly netns?: string;
  links(): LinkInfo[];
  /** What compile needs of the host; `query.gatewayDevices`: whose main-table default gateways to read (`gateway: auto`). */
  hostFacts(query?: HostFactsQuery): HostFacts;
  /** Routing tables and marks the host uses besides netcg (for the numbers netcg picks); absent: not checked. */
  hostNumbers?(): HostNumbers;
  readOwned(table: string): OwnedState;
  /**
   * netcg's table (decoded into the model), ip rules and routes. Backends that cannot decode tables lack it;
   * apply then replaces the table whole. With `routeTables`, netcg's routes are looked for in those routing
   * tables and in the ones netcg's ip rules point at only (see RouteTables); without, in every table.
   */
  readState?(table: string, routeTables?: RouteTables): ReadState;
  /** Sends a plan's nf_tables ops as one batch, refused with ERESTART if the generation moved past `genid`. */
  commitNft?(ops: NftOp[], genid?: number): void;
  /** Replaces netcg's table with `table` in one nf_tables transaction: all or nothing. */
  replaceTable(table: TableState): void;
  /** Deletes netcg's table; false when it did not exist. */
  deleteTable(name: string): boolean;
  /** Runs one rtnetlink change; throws on failure (the caller rolls back). */
  rtnl(op: RtnlOp): void;
  close(): void;
}
