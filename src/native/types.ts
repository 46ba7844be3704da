// The addon's JavaScript surface: plain objects in, plain objects out.
// The addon is a translator (see native/): it knows netlink attribute layouts,
// never netcg's policy. Byte strings are Buffers in host-independent form
// exactly as they travel on the wire (e.g. a cmp against port 53 is <00 35>).

export type NftFamily = 'inet' | 'ip' | 'ip6' | 'arp' | 'bridge' | 'netdev';

/** NFT_REG_VERDICT = 0, NFT_REG_1..4 = 1..4 (128-bit), NFT_REG32_00.. = 8.. */
export type Register = number;

export type Verdict =
  | { code: 'accept' | 'drop' | 'continue' | 'return' | 'break' }
  | { code: 'jump' | 'goto'; chain: string };

export type MetaKey =
  | 'len'
  | 'protocol'
  | 'priority'
  | 'mark'
  | 'iif'
  | 'oif'
  | 'iifname'
  | 'oifname'
  | 'iiftype'
  | 'oiftype'
  | 'skuid'
  | 'skgid'
  | 'nftrace'
  | 'rtclassid'
  | 'nfproto'
  | 'l4proto'
  | 'pkttype'
  | 'cpu'
  | 'iifgroup'
  | 'oifgroup'
  | 'cgroup'
  | 'prandom';

export type Expr =
  | { type: 'meta'; key: MetaKey; dreg: Register } // load
  | { type: 'meta'; key: MetaKey; sreg: Register } // set (statement)
  | { type: 'cmp'; sreg: Register; op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'; data: Buffer }
  | { type: 'payload'; base: 'll' | 'network' | 'transport'; offset: number; len: number; dreg: Register }
  | { type: 'immediate'; dreg: Register; data: Buffer }
  | { type: 'immediate'; dreg: 0; verdict: Verdict }
  | { type: 'bitwise'; sreg: Register; dreg: Register; len: number; mask: Buffer; xor: Buffer }
  | { type: 'lookup'; sreg: Register; set: string; dreg?: Register; invert?: boolean }
  | { type: 'counter'; packets: number; bytes: number }
  | { type: 'redir'; regProtoMin?: Register; regProtoMax?: Register; flags?: number }
  | { type: 'masq'; regProtoMin?: Register; regProtoMax?: Register; flags?: number }
  | { type: 'reject'; rejectType: number; code: number } // NFT_REJECT_* / icmp code
  | { type: 'ct'; key: 'state' | 'mark' | 'direction' | 'status'; dreg: Register; dir?: 0 | 1 }
  | { type: 'ct'; key: 'mark'; sreg: Register }
  | { type: 'socket'; key: 'transparent' | 'mark' | 'wildcard' | 'cgroupv2'; dreg: Register; level?: number }
  | { type: 'fib'; flags: number; result: number; dreg: Register };

export interface NftHook {
  type: 'filter' | 'nat' | 'route';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  priority: number;
  policy?: 'accept' | 'drop';
}

/** One message of an nf_tables transaction. All ops of one commit() go in one batch. */
export type NftOp =
  | {
      verb: 'add' | 'create' | 'delete' | 'destroy';
      object: 'table';
      family: NftFamily;
      name: string;
      flags?: number;
    }
  | {
      verb: 'add' | 'create' | 'delete' | 'destroy' | 'flush';
      object: 'chain';
      family: NftFamily;
      table: string;
      name: string;
      hook?: NftHook;
    }
  | {
      verb: 'add' | 'delete' | 'destroy';
      object: 'rule';
      family: NftFamily;
      table: string;
      chain: string;
      exprs?: readonly Expr[];
      handle?: number;
      userdata?: Buffer;
    }
  | {
      verb: 'add' | 'create' | 'delete' | 'destroy' | 'flush';
      object: 'set';
      family: NftFamily;
      table: string;
      name: string;
      flags?: number;
      keyType?: number;
      keyLen?: number;
      dataType?: number;
      dataLen?: number;
      userdata?: Buffer;
    }
  | {
      verb: 'add' | 'create' | 'delete' | 'destroy';
      object: 'element';
      family: NftFamily;
      table: string;
      set: string;
      elements: NftElement[];
    };

export interface NftElement {
  key: Buffer;
  data?: Buffer;
  verdict?: Verdict;
}

/**
 * The same ops as one compact buffer (src/native/optape.ts encodeOps, layout in
 * native/nft/optape.h), read by the addon without a napi call per field;
 * `strings` are the object keys the tape refers to by index. `ops` is only used
 * to name the failed op (NetlinkError.object). Opt-in; host byte order.
 */
export interface NftOpsTape {
  tape: Buffer;
  strings: string[];
  ops: readonly NftOp[];
}

export interface NftCommitOptions {
  /** NFNL_BATCH_GENID: the kernel refuses the batch (ERESTART) if the generation moved. */
  genid?: number;
}

export interface NftDumpFilter {
  family?: NftFamily;
  table?: string;
}

export interface NftDump {
  /** Generation id read before the dump; dumps are retried until it is unchanged after. */
  genid: number;
  tables: Array<{ family: NftFamily; name: string; handle: number; flags: number; use?: number }>;
  chains: Array<{ family: NftFamily; table: string; name: string; handle: number; hook?: NftHook }>;
  rules: Array<{
    family: NftFamily;
    table: string;
    chain: string;
    handle: number;
    position?: number;
    exprs: readonly Expr[];
    userdata?: Buffer;
  }>;
  sets: Array<{
    family: NftFamily;
    table: string;
    name: string;
    handle: number;
    flags: number;
    keyType: number;
    keyLen: number;
    dataType?: number;
    dataLen?: number;
    userdata?: Buffer;
    elements: NftElement[];
  }>;
}

/**
 * nftDump(filter, { tape: true }): the same dump as a flat tagged encoding
 * (native/nft/tape.h) for a JS reader (src/state/nft-tape.ts readTape), which
 * builds the identical NftDump much faster than napi can. Opt-in; host byte order.
 */
export interface NftDumpTape {
  genid: number;
  tape: Buffer;
  strings: string[];
}

export interface RtRule {
  family: 4 | 6;
  priority?: number;
  table: number;
  fwmark?: number;
  fwmask?: number;
  protocol?: number; // FRA_PROTOCOL: who installed it; netcg uses its own
  action?: 'to_tbl' | 'unreachable' | 'prohibit' | 'blackhole';
  invert?: boolean;
}

export interface RtRoute {
  family: 4 | 6;
  table: number;
  dst: string; // address without prefix ('0.0.0.0' / '::' for default)
  dstLen: number;
  oif?: number; // ifindex
  gateway?: string;
  prefsrc?: string;
  scope?: number; // RT_SCOPE_*: 0 universe, 253 link, 254 host
  protocol?: number; // RTPROT_*: netcg's own for its routes
  type?: number; // RTN_*: 1 unicast, 2 local, 6 blackhole, 7 unreachable, 8 prohibit
  priority?: number; // metric
}

export interface RtLink {
  index: number;
  name: string;
  flags: number; // IFF_*
  up: boolean;
  mtu: number;
  kind?: string; // IFLA_INFO_KIND (veth, tun, ...)
}

/**
 * What routeDump asks for. On a kernel with strict checking (NETLINK_GET_STRICT_CHK, Linux 4.20+, see
 * socketInfo().strictChecking) the kernel filters itself and sends only the matching routes, so the cost
 * does not depend on the size of other tables; otherwise the same filter runs on every reply. A table or
 * `oif` that does not exist yields []. Generic: which routes matter is the caller's policy.
 */
export interface RtRouteFilter {
  family: 4 | 6;
  /** Routing table id (any u32; 254 = main). Absent: all tables. */
  table?: number;
  /** RTPROT_* of the routes (netcg's is 110). */
  protocol?: number;
  /** RTN_* (1 unicast, 6 blackhole, 7 unreachable, 8 prohibit). */
  type?: number;
  /** Output device ifindex. */
  oif?: number;
}

/** What ruleDump returns. The kernel cannot filter rule dumps; the filter runs on the replies (rules are few). */
export interface RtRuleFilter {
  family: 4 | 6;
  table?: number;
  protocol?: number;
}

/**
 * What sockDump asks for (NETLINK_SOCK_DIAG, inet_diag): one family and protocol, the states
 * wanted, and a local port (0 or absent: any). The kernel filters by all of them itself.
 */
export interface SockDiagFilter {
  family: 4 | 6;
  /** 6 (TCP) or 17 (UDP). */
  protocol: 6 | 17;
  /** A bit per socket state (1 << TCP_*): 1 << 10 LISTEN, 1 << 7 CLOSE (an unconnected UDP socket), 1 << 1 ESTABLISHED. */
  states: number;
  port?: number;
}

/** One socket of the handle's namespace, as inet_diag reports it. */
export interface SockDiagEntry {
  family: 4 | 6;
  protocol: 6 | 17;
  /** TCP_* state (10 LISTEN; UDP: 7 unconnected, 1 connected). */
  state: number;
  /** Local address as text (0.0.0.0 / :: for a wildcard bind). */
  address: string;
  port: number;
  /** The socket's owner (the user whose credentials created it). */
  uid: number;
  /** The socket's inode: what /proc/PID/fd/N links to as `socket:[INODE]`. */
  inode: number;
}

/** The sockets of a NetlinkHandle as the kernel set them up (diagnostics, tests, benchmarks). */
export interface NetlinkSocketInfo {
  /** The kernel honours dump filters (NETLINK_GET_STRICT_CHK accepted on the rtnetlink socket). */
  strictChecking: boolean;
  /** Dumps restarted after the kernel flagged them interrupted (NLM_F_DUMP_INTR), since the handle opened. */
  dumpRetries: number;
  /** Data messages received by dumps since the handle opened: what a filter saved. */
  dumpMessages: number;
  /** Buffer sizes the kernel granted (bytes, as getsockopt reports them: twice the usable payload). */
  nft: { rcvbuf: number; sndbuf: number };
  route: { rcvbuf: number; sndbuf: number };
}

/** Bound to one network namespace (vishvananda/netlink's Handle): sockets live as long as it. */
export interface NetlinkHandle {
  nftCommit(ops: NftOp[] | NftOpsTape, opts?: NftCommitOptions): void;
  nftDump(filter?: NftDumpFilter): NftDump;
  nftDump(filter: NftDumpFilter | undefined, opts: { tape: true }): NftDumpTape;
  nftGenid(): number;
  ruleAdd(rule: RtRule): void;
  ruleDel(rule: RtRule): void;
  /** Rules of one family (and table/protocol when given). Interrupted dumps are retried (NetlinkError.dumpInterrupted when they keep failing). */
  ruleDump(filter: 4 | 6 | RtRuleFilter): RtRule[];
  routeAdd(route: RtRoute): void;
  routeDel(route: RtRoute): void;
  /** Routes matching `filter` (see RtRouteFilter); `routeDump(family, table)` is the short form. */
  routeDump(filter: RtRouteFilter): RtRoute[];
  routeDump(family: 4 | 6, table?: number): RtRoute[];
  linkDump(): RtLink[];
  /** TCP/UDP sockets of the handle's namespace matching `filter` (a NETLINK_SOCK_DIAG socket, opened on first use). */
  sockDump(filter: SockDiagFilter): SockDiagEntry[];
  socketInfo(): NetlinkSocketInfo;
  close(): void;
}

export interface NativeAddon {
  init(opts: { NetlinkError: new (message: string, props: object) => Error }): void;
  NetlinkHandle: new (opts?: { netns?: string }) => NetlinkHandle;
  /** execvp after restoring default signal dispositions, an empty signal mask and blocking stdio. Returns only on failure (throws). */
  exec(file: string, argv: string[], env?: Record<string, string>): never;
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  /** flock(2) on an fd: true when locked, false when busy and `wait` is false. Released by the kernel when the process dies. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /**
   * Reads the sysctl `key` (dotted, e.g. 'net.ipv4.conf.all.src_valid_mark') as seen from the network
   * namespace at `netns` (the caller's when undefined) and, given `value`, writes it. Returns the value
   * before the write. Runs on a short-lived thread that enters the namespace; never spawns.
   */
  sysctl(netns: string | undefined, key: string, value?: string): string;

  /**
   * Keeps `<dir>/cgroup.procs` open (v1 or cgroup2 alike) and moves PIDs into the cgroup. Like every cgroup
   * call below, the directory is opened without following a symlink and must be on a cgroup filesystem
   * (else code 'ENOTCGROUP'); the file is opened from it with no symlink (ELOOP) or mount (EXDEV) in between.
   */
  CgroupProcs: new (
    dir: string,
  ) => CgroupProcs;
  /** The cgroup2 ID of a cgroup directory (what `socket cgroupv2` compares): its kernfs file handle. ENOTCGROUP if not on cgroup2. */
  cgroupId(dir: string): bigint;
  /** A cgroup control file (`name`: one component, e.g. 'net_cls.classid'), read whole. */
  cgroupReadFile(dir: string, name: string): string;
  /** Writes `text` to a cgroup control file in one write(2); never creates it. */
  cgroupWriteFile(dir: string, name: string, text: string): void;
  /**
   * Per PID, its cgroup path in one hierarchy as /proc/PID/cgroup prints it ("/a/b"), read in one native pass;
   * null when the process is gone, the PID is <= 0, or the hierarchy is not listed. `controllers`: '' for
   * cgroup2 (the "0::" line), else the v1 hierarchy's controller list ("net_cls,net_prio", any order).
   */
  procCgroupPaths(pids: Int32Array, controllers: string): Array<string | null>;
  /**
   * Starts a program that is in the cgroup before its first instruction (clone3 CLONE_INTO_CGROUP on
   * cgroup2, else fork + join + exec). Throws (op 'spawn', code e.g. ENOENT) when the child could not exec;
   * the failed child is already reaped then. On success the caller owns `pidfd` and must reap the child
   * with pidfdWait and then close the pidfd (fs.closeSync).
   */
  spawnInCgroup(opts: SpawnInCgroupOptions): SpawnedChild;
  /** [readFd, writeFd], both close-on-exec: stdio pipes for spawnInCgroup (parent end: `new net.Socket({ fd })`). */
  pipe(): [number, number];
  /** waitid(P_PIDFD, WEXITED): reaps the child. Blocks unless `nonblocking`; then `{ exited: false }` while it runs. */
  pidfdWait(pidfd: number, nonblocking?: boolean): PidfdWaitResult;
  /** Calls onExit() once when the process behind `pidfd` exits (uv_poll in Node's loop); then reap with pidfdWait. */
  PidfdWatch: new (
    pidfd: number,
    onExit: () => void,
  ) => PidfdWatch;
  /**
   * Subscribes, in the namespace at `opts.netns` (default: ours), to rtnetlink link, address (v4/v6),
   * route (v4/v6) and rule (v4/v6) notifications and to nf_tables' notifications, and calls
   * onEvents(batch) from Node's event loop (uv_poll, no thread, no polling) each time the sockets
   * become readable, with everything queued. `rcvbuf` replaces the receive buffer size (default
   * 8 MiB, SO_RCVBUFFORCE); a full buffer shows as an `overrun` event.
   */
  NetlinkMonitor: new (
    opts: NetlinkMonitorOptions | undefined,
    onEvents: (events: NetlinkEvent[]) => void,
  ) => NetlinkMonitor;
}

export interface NetlinkMonitorOptions {
  netns?: string;
  rcvbuf?: number;
}

/** What the kernel announced, as it said it (no interpretation). Family: 4 | 6 for rtnetlink. */
export type NetlinkEvent =
  | { source: 'link'; type: 'new' | 'del'; ifindex: number; ifname?: string; up: boolean; running: boolean }
  | {
      source: 'addr';
      type: 'new' | 'del';
      ifindex: number;
      family: 4 | 6;
      address?: string;
      prefixLen: number;
    }
  | {
      source: 'route';
      type: 'new' | 'del';
      family: 4 | 6;
      table: number;
      dst: string;
      dstLen: number;
      /** RTPROT_* of the route; routeType: RTN_* (1 unicast, 7 unreachable, ...). */
      protocol: number;
      routeType: number;
      oif?: number;
    }
  | {
      source: 'rule';
      type: 'new' | 'del';
      family: 4 | 6;
      table: number;
      priority?: number;
      fwmark?: number;
      protocol?: number;
    }
  /**
   * One nf_tables notification; `chain` for chains and rules, `set` for sets and elements.
   * `count`: this many identical notifications in a row (a set's elements), folded into one.
   */
  | {
      source: 'nft';
      type: NftEventType;
      family?: NftFamily;
      table?: string;
      chain?: string;
      set?: string;
      count?: number;
    }
  /** Sent after each nf_tables commit: the new generation and who committed it. */
  | { source: 'nft'; type: 'newgen'; genid?: number; pid?: number; comm?: string }
  /** The receive buffer overflowed: events of `bus` were lost, so anything may have changed. */
  | { source: 'overrun'; bus: 'rtnl' | 'nft' }
  /** The monitor could not go on (a poll it could not re-arm, an internal error): its last event; it has stopped. */
  | { source: 'error'; bus: 'rtnl' | 'nft'; errno: number; message: string };

export type NftEventType =
  | 'newtable'
  | 'deltable'
  | 'newchain'
  | 'delchain'
  | 'newrule'
  | 'delrule'
  | 'newset'
  | 'delset'
  | 'newsetelem'
  | 'delsetelem'
  | 'newobj'
  | 'delobj'
  | 'newflowtable'
  | 'delflowtable';

export interface NetlinkMonitor {
  /** Stops watching and closes the sockets (idempotent); onEvents is not called again. */
  close(): void;
  /** Like a socket: by default the monitor keeps the event loop alive. */
  unref(): NetlinkMonitor;
  ref(): NetlinkMonitor;
  /** True while both buses are listened to; false once closed or failed (see the 'error' event). */
  active(): boolean;
}

/** One PID's outcome: each PID is one write(2), so one refusal never stops the others. */
export type EnrollOutcome =
  | { pid: number; ok: true }
  /** code: errno name from the kernel (ESRCH: no such process, EACCES/EPERM, ...); EINVAL for pid <= 0 (never written: "0" means "self"). */
  | { pid: number; ok: false; code: string; errno: number };

export interface CgroupProcs {
  readonly path: string;
  /** Outcomes in input order. Throws (EINVAL, nothing written) if an element is not an integer; EBADF after close(). */
  enroll(pids: number[]): EnrollOutcome[];
  /** enroll() for large batches without a result object per PID: errnos in input order, 0 = moved (EINVAL, not written, for pid <= 0). EBADF after close(). */
  writePids(pids: Int32Array): Int32Array;
  close(): void;
}

export interface SpawnInCgroupOptions {
  file: string;
  /** Whole argument vector including argv[0]; default [file]. */
  argv?: string[];
  /** Exactly this environment; default: this process's. Its PATH (else ours) is searched for `file`. */
  env?: Record<string, string>;
  cwd?: string;
  /** Cgroup directory to start in (v1 or cgroup2)... */
  cgroup?: string;
  /** ...or an open fd of it (fs.openSync(dir, 'r')). Neither: a plain spawn. */
  cgroupFd?: number;
  /** The child's fds 0, 1, 2 (made blocking); every other fd is closed at exec. */
  stdio: [number, number, number];
  /** 'auto' (default): clone3 on cgroup2 (fork if the kernel lacks it), fork on v1. */
  method?: 'auto' | 'clone3' | 'fork';
}

export interface SpawnedChild {
  pid: number;
  /** Close-on-exec pidfd; readable once the child exits. */
  pidfd: number;
  method: 'clone3' | 'fork';
}

export type PidfdWaitResult =
  | { exited: false }
  /** Like ChildProcess 'exit': exactly one of code / signal ('SIGTERM') is non-null. */
  | { exited: true; pid: number; code: number | null; signal: string | null };

export interface PidfdWatch {
  /** Stops watching (idempotent); onExit will not be called. */
  close(): void;
  /** Like ChildProcess: by default the watch keeps the event loop alive. */
  unref(): PidfdWatch;
  ref(): PidfdWatch;
}
