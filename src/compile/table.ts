// The nf_tables half of compile: netcg's one inet table. Each feature has a base
// chain at the hook its semantics need and a verdict map keyed by the packet's
// cgroup classid (net_cls profiles) and/or one keyed by the socket's cgroup2 ID
// at the profiles' level (cgroup v2 profiles), so a packet costs at most two hash
// lookups however many profiles exist; the map jumps into the profile's own
// chain. See docs/ruleset.md for the text.
import type { ProfileConfig } from '../config/index.js';
import { cgroupPathLevel } from '../config/cgroup-path.js';
import type {
  CgroupSpec,
  ChainState,
  ExistingCgroup,
  Expr,
  MapState,
  NftElement,
  NftHook,
  RuleState,
  TableState,
} from '../shared/model.js';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  NFPROTO_IPV6,
  cgroupV2VerdictMapAttrs,
  cgroupVerdictMapAttrs,
  counter,
  dispatchByCgroup,
  dispatchByCgroupV2,
  hostU32,
  hostU64,
  masquerade,
  matchDport,
  matchMark,
  matchNfproto,
  matchCtDnat,
  matchCtMark,
  matchCtReply,
  matchDaddrLocal,
  matchL4proto,
  matchOifname,
  matchSkuidNot,
  matchSport,
  matchTcpSyn,
  redirectToPort,
  reject,
  rejectTcpReset,
  restoreMarkFromCt,
  saveMarkToCt,
  setMark,
  verdict,
} from '../nft/index.js';
import type { PortServer, PortServers } from './servers.js';

const DNS_PORT = 53;

/** nft's named priorities: dstnat -100, mangle -150, filter 0, srcnat 100. */
const HOOKS = {
  nat_output: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
  route_output: { type: 'route', hook: 'output', priority: -150, policy: 'accept' },
  filter_output: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  nat_postrouting: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
  filter_prerouting: { type: 'filter', hook: 'prerouting', priority: -150, policy: 'accept' },
  // After nat_output (dstnat): the first nat chain that maps a connection wins, so a
  // member's DNS over TCP goes to the `dns` redirect, not to the proxy.
  nat_proxy: { type: 'nat', hook: 'output', priority: -99, policy: 'accept' },
  filter_offline: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  filter_udp: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  // Replies from a DNS redirect port: before NAT is undone (postrouting), so sport is still the port.
  filter_dnsreply: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  // The same for the proxy port's SYN-ACKs (`proxy.server`).
  filter_proxyreply: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
} as const satisfies Record<string, NftHook>;

/**
 * A feature names its verdict maps and its profiles' chains (`<feature>_<profile>`),
 * so feature names never contain '_' (a chain name must say which profile it is).
 */
type Feature = 'dns' | 'ipv6' | 'route' | 'offline' | 'proxy' | 'udp';
const FEATURES: readonly Feature[] = ['dns', 'ipv6', 'route', 'offline', 'proxy', 'udp'];

export const dispatchMapName = (feature: Feature): string => `${feature}_dispatch`;
export const dispatchV2MapName = (feature: Feature): string => `${feature}_dispatch_v2`;

/** How compile matches members: which profiles are cgroup v2, their IDs, and their level. */
export interface V2Matching {
  /** Names of the profiles matched by cgroup2 ID. */
  profiles: ReadonlySet<string>;
  /** IDs of the v2 profiles whose cgroup exists. */
  ids: Readonly<Record<string, bigint>>;
  /** Existing-cgroup profiles (`cgroup:`): the cgroups their patterns match now. */
  existing?: Readonly<Record<string, readonly ExistingCgroup[]>>;
  /** Depth of the profile cgroups below the cgroup2 root. */
  level: number;
}

const NO_V2: V2Matching = { profiles: new Set(), ids: {}, level: 1 };
export const profileChainName = (feature: Feature, profile: string): string => `${feature}_${profile}`;

function rule(...parts: Array<Expr | Expr[]>): RuleState {
  return { exprs: parts.flat() };
}

function dispatchMap(feature: Feature, elements: NftElement[]): MapState {
  return { name: dispatchMapName(feature), ...cgroupVerdictMapAttrs(), elements };
}

function classidElement(feature: Feature, p: ProfileConfig): NftElement {
  return { key: hostU32(p.classid!), verdict: { code: 'jump', chain: profileChainName(feature, p.name) } };
}

// Memo of each profile's own objects (its chains, its dispatch elements), by
// profile name, valid while the profile's config is structurally the same as the
// private copy taken when they were built. A program that applies again and again
// (the Reconciler) compiles 10,000 unchanged profiles each time, usually from a
// freshly loaded config: with the memo they come out as the very same objects,
// which costs one structural compare per profile instead of building ~40 objects,
// and lets plan compare them by identity (src/plan/identity.ts). The copy is
// private (a JSON round trip), so a caller that later changes its config object
// cannot make a stale entry look current. The base chains are interned the same
// way, by the inputs they are built from. Two generations: what the previous
// compile used survives one more compile, so the memo never outgrows the last two
// configs. The memoised objects are frozen: a caller that mutated a desired state
// would otherwise corrupt the next compile.
interface ProfileMemo {
  copy: unknown;
  chains?: ChainState[];
  elements: Partial<Record<Feature, NftElement>>;
  /** The profile's cgroup spec (frozen), for the inputs in `cgroupKey` (its parent and whether net_cls is there). */
  cgroup?: { key: string; spec: CgroupSpec };
}
let memoByName = new Map<string, ProfileMemo>();
let memoByNameBefore = new Map<string, ProfileMemo>();
let chainByKey = new Map<string, ChainState>();
let chainByKeyBefore = new Map<string, ChainState>();

/**
 * One generation of the memo, and within it each profile object's entry by
 * identity, so compiling the same Config object again (apply compiles before and
 * after it knows the cgroup2 IDs) does not compare its profiles again. Only valid
 * while the caller does not change the config: one scope per apply or diff call.
 */
export interface MemoScope {
  readonly byProfile: Map<ProfileConfig, ProfileMemo>;
}

export function newMemoScope(): MemoScope {
  memoByNameBefore = memoByName;
  memoByName = new Map();
  chainByKeyBefore = chainByKey;
  chainByKey = new Map();
  return { byProfile: new Map() };
}

function memoOf(p: ProfileConfig, scope: MemoScope): ProfileMemo {
  let m = scope.byProfile.get(p);
  if (m) return m;
  const known = memoByName.get(p.name) ?? memoByNameBefore.get(p.name);
  m =
    known && sameJson(known.copy, p)
      ? known
      : { copy: JSON.parse(JSON.stringify(p)) as unknown, elements: {} };
  memoByName.set(p.name, m);
  scope.byProfile.set(p, m);
  return m;
}

/**
 * The profile's cgroup spec from the memo when its config and `key` (the inputs
 * outside the profile) are unchanged, else `build()`'s, frozen and remembered. The
 * same object across applies lets the Reconciler's cgroup memory recognise an
 * unchanged spec by identity.
 */
export function memoizedCgroupSpec(
  p: ProfileConfig,
  scope: MemoScope,
  key: string,
  build: () => CgroupSpec,
): CgroupSpec {
  const m = memoOf(p, scope);
  if (m.cgroup?.key !== key) m.cgroup = { key, spec: Object.freeze(build()) };
  return m.cgroup.spec;
}

/**
 * Whether `live` serialises to the same JSON as `copy` (a JSON round trip) would,
 * for the plain values a config holds; anything unusual (a Date, a function) is
 * simply unequal, which costs a rebuild and never a wrong answer.
 */
export function sameJson(copy: unknown, live: unknown): boolean {
  if (copy === live) return true;
  if (typeof copy !== 'object' || typeof live !== 'object' || copy === null || live === null) return false;
  if (Array.isArray(copy) || Array.isArray(live)) {
    if (!Array.isArray(copy) || !Array.isArray(live) || copy.length !== live.length) return false;
    for (let i = 0; i < copy.length; i++) if (!sameJson(copy[i], live[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(live) !== Object.prototype) return false;
  const a = copy as Record<string, unknown>;
  const b = live as Record<string, unknown>;
  let fields = 0;
  for (const k in a) {
    if (!sameJson(a[k], b[k])) return false;
    fields++;
  }
  for (const k in b) if (b[k] !== undefined) fields--;
  return fields === 0;
}

/** The chain built from `key`'s inputs last time, if any, else `build()`'s (frozen). */
function internChain(key: string, build: () => ChainState): ChainState {
  const c = chainByKey.get(key) ?? chainByKeyBefore.get(key) ?? deepFreeze(build());
  chainByKey.set(key, c);
  return c;
}
// No Object.values() here: it allocates an array per object, and a 10,000-profile
// table is ~500,000 objects, so that garbage was a third of a cold compile.
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value))
    return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    const o = value as Record<string, unknown>;
    for (const k in o) deepFreeze(o[k]);
  }
  return Object.freeze(value);
}

/** The cgroup2 IDs a v2 profile's members are matched by: its own cgroup's, or those its `cgroup:` pattern matches now. */
function v2IdsOf(p: ProfileConfig, v2: V2Matching): bigint[] {
  if (p.cgroup !== undefined) return (v2.existing?.[p.name] ?? []).map((c) => c.id);
  const id = v2.ids[p.name];
  return id === undefined ? [] : [id];
}

/** The `socket cgroupv2 level` of a v2 profile: its `cgroup:` path's depth, else the profile cgroups' level. */
function v2LevelOf(p: ProfileConfig, v2: V2Matching): number {
  return p.cgroup !== undefined ? cgroupPathLevel(p.cgroup) : v2.level;
}

/**
 * A v2 profile whose cgroup does not exist yet has no ID, so no element (apply
 * creates netcg's own cgroups first; an existing-cgroup profile waits). A key is
 * used once: should two patterns match one cgroup, the first profile in the
 * config's order has it.
 */
function dispatchV2Map(feature: Feature, members: ProfileConfig[], v2: V2Matching): MapState {
  const seen = new Set<bigint>();
  const elements: NftElement[] = [];
  for (const p of members)
    for (const id of v2IdsOf(p, v2)) {
      if (seen.has(id)) continue;
      seen.add(id);
      elements.push({
        key: hostU64(id),
        verdict: { code: 'jump' as const, chain: profileChainName(feature, p.name) },
      });
    }
  return { name: dispatchV2MapName(feature), ...cgroupV2VerdictMapAttrs(), elements };
}

function baseChain(name: keyof typeof HOOKS, rules: RuleState[]): ChainState {
  return { name, hook: { ...HOOKS[name] }, rules };
}

/** One masquerade rule per distinct (mark, via): profiles sharing a VPN share the rule. */
function masqueradeKeys(routed: ProfileConfig[]): Array<{ mark: number; via: string }> {
  // By mark, then via: no key string per profile (10,000 profiles usually share one pair).
  const seen = new Map<number, Set<string>>();
  const keys: Array<{ mark: number; via: string }> = [];
  for (const { route } of routed) {
    if (!route?.masquerade) continue;
    let vias = seen.get(route.mark);
    if (!vias) seen.set(route.mark, (vias = new Set()));
    if (vias.has(route.via)) continue;
    vias.add(route.via);
    keys.push({ mark: route.mark, via: route.via });
  }
  return keys;
}

function masqueradeRule(mark: number, via: string): RuleState {
  return rule(matchMark(mark), matchOifname(via), counter(), masquerade());
}

/**
 * Connmark restore, one rule per distinct mark: replies to members' connections get
 * the mark back before routing, so with src_valid_mark=1 strict rp_filter checks
 * their source against the profile's table (where `via` is the way back) instead of
 * main (where it is not), as WireGuard's and Mullvad's setups do.
 */
function restoreMarkRule(mark: number): RuleState {
  return rule(matchCtMark(mark), counter(), restoreMarkFromCt());
}

const serverCheck = (uid: number): Array<Expr | Expr[]> => [
  matchCtReply(),
  matchCtDnat(),
  matchSkuidNot(uid),
  counter(),
  verdict('drop'),
];

/**
 * `dns.server`: replies of a redirected connection (`ct status dnat`, `ct direction
 * reply`) leaving from a redirect port are dropped unless the sending socket is the
 * server user's (`meta skuid`: the user who created the socket's file). UDP: every
 * answer. TCP: the SYN-ACK, which the listening socket sends; the connection it
 * opens is that listener's, even when the process that accepts it runs as another
 * user (a resolver that binds as root, then drops privileges). Packets without a
 * socket (the kernel's TCP resets, ICMP errors) do not match `meta skuid` and pass:
 * they answer nothing. `proxy.server`: the same TCP rule on the proxy port, in its
 * own chain (a proxy carries TCP only).
 */
function replyChain(
  name: 'filter_dnsreply' | 'filter_proxyreply',
  servers: readonly PortServer[],
): ChainState {
  const udp = name === 'filter_dnsreply';
  return internChain(`${name} ${servers.map((s) => `${s.port}/${s.uid}`).join(' ')}`, () =>
    baseChain(
      name,
      servers.flatMap(({ port, uid }) => [
        ...(udp ? [rule(matchSport(IPPROTO_UDP, port), ...serverCheck(uid))] : []),
        rule(matchSport(IPPROTO_TCP, port), matchTcpSyn(), ...serverCheck(uid)),
      ]),
    ),
  );
}

function profileChains(p: ProfileConfig): ChainState[] {
  const chains: ChainState[] = [];
  if (p.dns) {
    const to = p.dns.redirect;
    chains.push({
      name: profileChainName('dns', p.name),
      rules: [IPPROTO_UDP, IPPROTO_TCP].map((proto) =>
        rule(matchDport(proto, DNS_PORT), counter(), redirectToPort(to)),
      ),
    });
  }
  if (p.ipv6 === 'reject')
    chains.push({ name: profileChainName('ipv6', p.name), rules: [rule(counter(), reject())] });
  // The mark is saved in the connection (connmark save) for the restore at prerouting.
  if (p.route)
    chains.push({
      name: profileChainName('route', p.name),
      rules: [rule(counter(), setMark(p.route.mark), saveMarkToCt())],
    });
  if (p.network === 'offline') chains.push(offlineChain(p.name));
  if (p.proxy) chains.push(...proxyChains(p));
  return chains;
}

/**
 * `network: offline`: loopback only, i.e. packets addressed to the host itself
 * (`fib daddr type local`: 127.0.0.0/8, ::1 and the host's own addresses; none of
 * it leaves the machine). Not `oifname "lo"`: at this hook the output device is
 * the one routing chose before a `dns` redirect rewrote the destination. DNS (port 53, even to a resolver on loopback,
 * which would ask the network for them) is refused first; a `dns` redirect has
 * already rewritten members' queries to its port at nat_output, so those pass as
 * loopback traffic. Everything else fails at once: TCP with a reset, the rest with
 * ICMP/ICMPv6 port unreachable (a hard error even for unconnected UDP sockets).
 */
function offlineChain(profile: string): ChainState {
  return {
    name: profileChainName('offline', profile),
    rules: [
      rule(matchDport(IPPROTO_UDP, DNS_PORT), counter(), reject()),
      rule(matchDport(IPPROTO_TCP, DNS_PORT), counter(), rejectTcpReset()),
      rule(matchDaddrLocal(true), counter(), verdict('accept')),
      rule(matchL4proto(IPPROTO_TCP), counter(), rejectTcpReset()),
      rule(counter(), reject()),
    ],
  };
}

/**
 * `proxy`: members' TCP to anything but the host's own addresses is redirected to
 * the proxy's port (nat keeps the original destination for SO_ORIGINAL_DST). With
 * `udp: reject`, their UDP is rejected, except queries the `dns` redirect sent to
 * its local port (they arrive here already rewritten, at filter priority).
 */
function proxyChains(p: ProfileConfig): ChainState[] {
  const proxy = p.proxy!;
  const chains: ChainState[] = [
    {
      name: profileChainName('proxy', p.name),
      rules: [rule(matchL4proto(IPPROTO_TCP), matchDaddrLocal(false), counter(), redirectToPort(proxy.tcp))],
    },
  ];
  if (proxy.udp === 'reject')
    chains.push({
      name: profileChainName('udp', p.name),
      rules: [
        ...(p.dns
          ? [
              rule(
                matchDport(IPPROTO_UDP, p.dns.redirect),
                matchDaddrLocal(true),
                counter(),
                verdict('return'),
              ),
            ]
          : []),
        rule(counter(), reject()),
      ],
    });
  return chains;
}

/** Adds `p` to a feature's users: its classid element (net_cls) or itself (cgroup v2, elements need the IDs). */
function useFeature(
  users: { v1: NftElement[]; v2: ProfileConfig[] },
  f: Feature,
  p: ProfileConfig,
  m: ProfileMemo,
  isV2: boolean,
): void {
  if (isV2) users.v2.push(p);
  else users.v1.push((m.elements[f] ??= deepFreeze(classidElement(f, p))));
}

export function compileTable(
  name: string,
  profiles: ProfileConfig[],
  v2: V2Matching = NO_V2,
  scope: MemoScope = newMemoScope(),
  servers: PortServers = { dns: [], proxy: [] },
): TableState {
  // One pass over the profiles: each feature's classid elements and cgroup v2
  // users, the routed profiles (in config order: masquerade and restore rules
  // follow it) and the profiles' own chains.
  const users = Object.fromEntries(FEATURES.map((f) => [f, { v1: [], v2: [] }])) as unknown as Record<
    Feature,
    { v1: NftElement[]; v2: ProfileConfig[] }
  >;
  const routed: ProfileConfig[] = [];
  const own: ChainState[] = [];
  const anyV2 = v2.profiles.size > 0;
  for (const p of profiles) {
    const m = memoOf(p, scope);
    const isV2 = anyV2 && v2.profiles.has(p.name);
    if (p.dns) useFeature(users.dns, 'dns', p, m, isV2);
    if (p.ipv6 === 'reject') useFeature(users.ipv6, 'ipv6', p, m, isV2);
    if (p.route) {
      useFeature(users.route, 'route', p, m, isV2);
      routed.push(p);
    }
    if (p.network === 'offline') useFeature(users.offline, 'offline', p, m, isV2);
    if (p.proxy) {
      useFeature(users.proxy, 'proxy', p, m, isV2);
      if (p.proxy.udp === 'reject') useFeature(users.udp, 'udp', p, m, isV2);
    }
    for (const c of (m.chains ??= deepFreeze(profileChains(p)))) own.push(c);
  }
  const uses = (f: Feature) => users[f].v1.length > 0 || users[f].v2.length > 0;

  const maps: MapState[] = [];
  for (const f of FEATURES) {
    if (users[f].v1.length > 0) maps.push(dispatchMap(f, users[f].v1));
    if (users[f].v2.length > 0) maps.push(dispatchV2Map(f, users[f].v2, v2));
  }
  /**
   * A feature's base chain: dispatch by classid, then by cgroup2 ID (one lookup per
   * level in use, deepest first: the innermost cgroup's profile runs first), each only when used.
   */
  const dispatchChain = (chain: keyof typeof HOOKS, f: Feature, ...prefix: Expr[][]): ChainState => {
    const v1 = users[f].v1.length > 0;
    const levels = [...new Set(users[f].v2.map((p) => v2LevelOf(p, v2)))].sort((a, b) => b - a);
    return internChain(`${chain} ${f} ${v1} ${levels.join(',')}`, () =>
      baseChain(chain, [
        ...(v1 ? [rule(...prefix, counter(), dispatchByCgroup(dispatchMapName(f)))] : []),
        ...levels.map((level) => rule(...prefix, counter(), dispatchByCgroupV2(dispatchV2MapName(f), level))),
      ]),
    );
  };

  const chains: ChainState[] = [];
  if (uses('dns')) chains.push(dispatchChain('nat_output', 'dns'));
  if (servers.dns.length > 0) chains.push(replyChain('filter_dnsreply', servers.dns));
  if (uses('route')) chains.push(dispatchChain('route_output', 'route'));
  if (uses('ipv6')) chains.push(dispatchChain('filter_output', 'ipv6', matchNfproto(NFPROTO_IPV6)));
  if (uses('proxy')) chains.push(dispatchChain('nat_proxy', 'proxy'));
  if (servers.proxy.length > 0) chains.push(replyChain('filter_proxyreply', servers.proxy));
  if (uses('offline')) chains.push(dispatchChain('filter_offline', 'offline'));
  if (uses('udp')) chains.push(dispatchChain('filter_udp', 'udp', matchL4proto(IPPROTO_UDP)));
  const masq = masqueradeKeys(routed);
  if (masq.length > 0)
    chains.push(
      internChain(`nat_postrouting ${masq.map((m) => `${m.mark}/${m.via}`).join(' ')}`, () =>
        baseChain(
          'nat_postrouting',
          masq.map((m) => masqueradeRule(m.mark, m.via)),
        ),
      ),
    );
  if (routed.length > 0) {
    const seen = new Set<number>();
    for (const p of routed) seen.add(p.route!.mark);
    const marks = [...seen];
    chains.push(
      internChain(`filter_prerouting ${marks.join(' ')}`, () =>
        baseChain('filter_prerouting', marks.map(restoreMarkRule)),
      ),
    );
  }
  for (const c of own) chains.push(c);

  return { family: 'inet', name, maps, chains };
}
