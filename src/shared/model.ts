// The typed model shared by compile (config -> desired), the backends (kernel ->
// current, desired -> kernel) and the planner. Rules are kernel expression lists,
// the same shape the addon encodes and decodes, so desired and current compare
// directly.
import type { Expr, NftElement, NftHook, RtRule } from '../native/types.js';

export type { Expr, NftElement, NftHook, Verdict } from '../native/types.js';

export interface RuleState {
  readonly exprs: readonly Expr[];
  /** Kernel handle; present on state read back from the kernel only. */
  readonly handle?: number;
}

export interface ChainState {
  readonly name: string;
  readonly hook?: NftHook;
  readonly rules: readonly RuleState[];
}

export interface MapState {
  name: string;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType: number;
  dataLen: number;
  /** nft's set user data (typeof description) so `nft list` prints `typeof meta cgroup`. */
  userdata?: Buffer;
  elements: NftElement[];
}

export interface TableState {
  family: 'inet';
  name: string;
  /** Objects in creation order: maps first, then chains (nft lists them that way). */
  maps: MapState[];
  chains: ChainState[];
}

/** A route in one of netcg's tables; `dev` by name, resolved to an ifindex by the backend. */
export interface RouteSpec {
  family: 4 | 6;
  table: number;
  /** CIDR, e.g. '0.0.0.0/0', '198.18.0.0/24', '::/0'. */
  dst: string;
  dev: string;
  /** Next hop on `dev` (route.gateway/gateway6, `auto` resolved); absent: the destination is on-link. */
  gateway?: string;
  scope: 'universe' | 'link';
  protocol: number;
  /** RTN type; unicast unless a fail-closed route. */
  type: 'unicast' | 'unreachable' | 'prohibit' | 'blackhole';
}

export type IpRuleSpec = Required<Pick<RtRule, 'family' | 'priority' | 'table' | 'fwmark' | 'protocol'>> &
  Pick<RtRule, 'fwmask'>;

export interface CgroupSpec {
  readonly profile: string;
  /** Path below the hierarchy's mount point, e.g. 'netcg/unlocator'. */
  readonly path: string;
  /** net_cls: a v1 cgroup tagged with `classid`; cgroupv2: a cgroup in the cgroup2 hierarchy, matched by its ID. */
  readonly hierarchy: 'net_cls' | 'cgroupv2';
  /** The net_cls classid (net_cls only). */
  readonly classid?: number;
  /** User name (or numeric uid as a string) allowed to enroll without root. */
  readonly owner?: string;
  /**
   * The profile matches an existing cgroup2 cgroup in place (`cgroup:` in the config):
   * `path` is its pattern below the root, e.g. 'system.slice/x.service' or
   * 'user.slice/…/app-firefox-*.scope'. netcg never creates, chowns or removes it.
   */
  readonly existing?: true;
}

/** One cgroup an existing-cgroup profile's pattern matches now. */
export interface ExistingCgroup {
  /** Below the cgroup2 root, with a leading '/', e.g. '/system.slice/x.service'. */
  readonly path: string;
  /** Its cgroup2 ID (what `socket cgroupv2` compares). */
  readonly id: bigint;
}

export interface DesiredState {
  table: TableState;
  ipRules: IpRuleSpec[];
  routes: RouteSpec[];
  cgroups: CgroupSpec[];
}

/** What compile needs to know about the host; read by a backend, so compile stays pure. */
export interface HostFacts {
  /** Routes of the main table with `proto kernel scope link` (the recipe's copy source). */
  linkRoutes: Array<Pick<RouteSpec, 'family' | 'dst' | 'dev'>>;
  /**
   * The main table's default routes with a gateway on the devices asked for (those of
   * `gateway: auto` routes, see gatewayDevicesOf): what `auto` resolves to. Absent or
   * without an entry for a device and family: unresolved, and members get unreachable.
   */
  defaultGateways?: DefaultGateway[];
  /** What the host's cgroups say; absent means "net_cls is available, no cgroup2 IDs known". */
  cgroups?: CgroupFacts;
  /** uids of the user names `dns.server`/`proxy.server` give (numbers and `root` need no entry); a name missing here is an error. */
  users?: Readonly<Record<string, number>>;
}

/** One default route of the main table: on `dev`, through `gateway` (the lowest metric when there are several). */
export interface DefaultGateway {
  family: 4 | 6;
  dev: string;
  gateway: string;
}

/** Host cgroup facts compile needs (read by src/cgroups, merged in by apply/diff). */
export interface CgroupFacts {
  /** The kernel has the net_cls controller: `match: auto` profiles then use net_cls. */
  netCls: boolean;
  /**
   * cgroup2 IDs of the v2 profiles' cgroups that exist, by profile name. A profile
   * whose cgroup does not exist yet gets no map element (nothing could match it).
   */
  ids: Record<string, bigint>;
  /**
   * Per existing-cgroup profile (`cgroup:`), the cgroups its pattern matches now, in
   * path order; absent or empty: none yet (the profile is waiting, no map element).
   */
  existing?: Record<string, readonly ExistingCgroup[]>;
}

/** netcg's rtnetlink protocol number: tags every ip rule and route netcg installs, so it only ever touches its own. */
export const NETCG_RTPROT = 110;

/**
 * The metric of netcg's fail-closed routes (type unreachable/prohibit/blackhole,
 * no device): the largest, so the table's unicast default always wins while it
 * exists and the fail-closed one answers only when the kernel removed it.
 */
export const FAIL_CLOSED_METRIC = 0xffffffff;
