// What `netcg status` shows, as plain data: one entry per profile plus the shared
// base chains. Built by buildStatus (pure) from what collect.ts reads; printed by
// format.ts (people) or as-is (--json, schema in docs/status-json.md).

/** Bumped on any incompatible change to the JSON (docs/status-json.md). */
export const STATUS_JSON_VERSION = 1;

export interface RuleCounter {
  /** The chain the rule lives in, e.g. dns_unlocator. */
  chain: string;
  /** nft's text of the rule without its counter, e.g. `udp dport 53 redirect to :5354`. */
  rule: string;
  /** Kernel handle of the rule. */
  handle?: number;
  packets: number;
  bytes: number;
}

export type LinkState = 'up' | 'down' | 'absent';

export interface ProfileMatchStatus {
  kind: 'net_cls' | 'cgroupv2';
  /** net_cls only. */
  classid?: number;
  /** The profile's cgroup directory; null when its hierarchy is not mounted. */
  cgroup: string | null;
  /** cgroupv2 only: the cgroup's ID (decimal) when the cgroup exists. */
  id?: string;
  /** Existing-cgroup profiles (`cgroup:`; `cgroup` is then the pattern): the cgroups matched now, IDs in decimal. */
  existing?: Array<{ path: string; id: string }>;
  /** Present (true) when an existing-cgroup profile matches no cgroup yet. */
  waiting?: true;
}

export interface ProfileFeatures {
  dns?: { redirect: number; server?: string };
  ipv6?: 'reject';
  route?: RouteStatus;
  network?: 'offline';
  proxy?: { tcp: number; udp?: 'reject'; server?: string };
}

/** A socket bound to a redirect port, and who holds it. */
export interface ListenerStatus {
  protocol: 'udp' | 'tcp';
  family: 4 | 6;
  address: string;
  /** The socket's owner: the user whose credentials created it. */
  uid: number;
  /** Its name (the number as text when the user database has none). */
  user: string;
  inode: number;
  /** The processes holding it (pid, comm); empty when none is visible. */
  processes: Array<{ pid: number; comm: string }>;
  /** True when the owner is the port's server; false: members get nothing from this socket. */
  server: boolean;
}

/** A `dns` or `proxy` redirect port: who must answer there and who listens now. */
export interface ServerStatus {
  kind: 'dns' | 'proxy';
  port: number;
  /** What the redirect carries: dns `udp` and `tcp`, proxy `tcp`. */
  protocols: Array<'udp' | 'tcp'>;
  /** The profiles redirecting there. */
  profiles: string[];
  /** The user whose sockets alone may answer (default root), and its uid (null: no such user on this host). */
  server: { user: string; uid: number | null };
  /** The sockets bound to the port now (TCP listening, UDP bound), both families. */
  listeners: ListenerStatus[];
}

export interface GatewayStatus {
  /** An address or 'auto'. */
  configured: string;
  /** The next hop in the kernel now (auto resolved), or null when the table has no unicast default. */
  current: string | null;
}

export interface RouteStatus {
  via: string;
  table: number;
  mark: number;
  masquerade: boolean;
  link: LinkState;
  /** route.gateway as configured and the next hop of the table's IPv4 default route now (null: none, members unreachable). */
  gateway?: GatewayStatus;
  /** The same for IPv6. */
  gateway6?: GatewayStatus;
  /** Present (true) when netcg picked table and mark (docs/config.md, "Numbers netcg picks"). */
  allocated?: true;
}

export interface ProfileStatus {
  name: string;
  match: ProfileMatchStatus;
  /** Processes in the profile's cgroup now. */
  members: number;
  features: ProfileFeatures;
  /** The counters of the rules in the profile's own chains, in chain order. */
  rules: RuleCounter[];
  totals: { packets: number; bytes: number };
  /** `netcg diff` lines that touch this profile (empty: in sync). */
  drift: string[];
}

export interface StatusSnapshot {
  version: typeof STATUS_JSON_VERSION;
  /** When the counters were read (ms since the epoch). */
  time: number;
  /** The network namespace read (null: the caller's). */
  netns: string | null;
  table: { family: 'inet'; name: string; exists: boolean };
  /** True when `netcg diff` would print `No changes.`. */
  inSync: boolean;
  profiles: ProfileStatus[];
  /** The base chains' rules (dispatch, masquerade) and drift not tied to one profile. */
  shared: { rules: RuleCounter[]; drift: string[] };
  /** Per `dns` and `proxy` redirect port, who listens there (empty without such profiles). */
  servers: ServerStatus[];
}

/** Per-second rates between two snapshots, keyed like the rules (`chain#index`). */
export interface Rates {
  seconds: number;
  /** `${chain}#${index within the chain}` -> rates. */
  rules: Map<string, { packets: number; bytes: number }>;
  profiles: Map<string, { packets: number; bytes: number }>;
}
