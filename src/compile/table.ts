// The nf_tables half of compile: netcg's one inet table. Each feature has a base
// chain at the hook its semantics need and a verdict map keyed by the packet's
// cgroup classid (net_cls profiles) and/or one keyed by the socket's cgroup2 ID
// at the profiles' level (cgroup v2 profiles), so a packet costs at most two hash
// lookups however many profiles exist; the map jumps into the profile's own
// chain. See docs/ruleset.md for the text.
import type { ProfileConfig } from '../config/index.js';
import type { ChainState, Expr, MapState, NftElement, NftHook, RuleState, TableState } from '../model.js';
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
  matchCtMark,
  matchOifname,
  redirectToPort,
  reject,
  restoreMarkFromCt,
  saveMarkToCt,
  setMark,
} from '../nft/index.js';

const DNS_PORT = 53;

/** nft's named priorities: dstnat -100, mangle -150, filter 0, srcnat 100. */
const HOOKS = {
  nat_output: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
  route_output: { type: 'route', hook: 'output', priority: -150, policy: 'accept' },
  filter_output: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  nat_postrouting: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
  filter_prerouting: { type: 'filter', hook: 'prerouting', priority: -150, policy: 'accept' },
} as const satisfies Record<string, NftHook>;

type Feature = 'dns' | 'ipv6' | 'route';

export const dispatchMapName = (feature: Feature): string => `${feature}_dispatch`;
export const dispatchV2MapName = (feature: Feature): string => `${feature}_dispatch_v2`;

/** How compile matches members: which profiles are cgroup v2, their IDs, and their level. */
export interface V2Matching {
  /** Names of the profiles matched by cgroup2 ID. */
  profiles: ReadonlySet<string>;
  /** IDs of the v2 profiles whose cgroup exists. */
  ids: Readonly<Record<string, bigint>>;
  /** Depth of the profile cgroups below the cgroup2 root. */
  level: number;
}

const NO_V2: V2Matching = { profiles: new Set(), ids: {}, level: 1 };
export const profileChainName = (feature: Feature, profile: string): string => `${feature}_${profile}`;

function rule(...parts: Array<Expr | Expr[]>): RuleState {
  return { exprs: parts.flat() };
}

function dispatchMap(feature: Feature, members: ProfileConfig[]): MapState {
  return {
    name: dispatchMapName(feature),
    ...cgroupVerdictMapAttrs(),
    elements: members.map((p) => memoOf(p).elements[feature] ?? (memoOf(p).elements[feature] = deepFreeze(classidElement(feature, p)))),
  };
}

function classidElement(feature: Feature, p: ProfileConfig): NftElement {
  return { key: hostU32(p.classid!), verdict: { code: 'jump', chain: profileChainName(feature, p.name) } };
}

// Memo of each profile's own objects (its chains, its dispatch elements), keyed by
// the profile's whole config as JSON. A program that applies again and again (the
// Reconciler) compiles 10,000 unchanged profiles each time: with the memo they come
// out as the very same objects, which costs a JSON.stringify per profile instead of
// building ~40 objects, and lets plan compare them by identity (src/plan/table.ts).
// Two generations: what the previous compile used survives one more compile, so the
// memo never outgrows the last two configs. The memoised objects are frozen: a
// caller that mutated a desired state would otherwise corrupt the next compile.
interface ProfileMemo { chains?: ChainState[]; elements: Partial<Record<Feature, NftElement>> }
let memoNow = new Map<ProfileConfig, ProfileMemo>();
let memoByJson = new Map<string, ProfileMemo>();
let memoByJsonBefore = new Map<string, ProfileMemo>();

function startMemoGeneration(): void {
  memoByJsonBefore = memoByJson;
  memoByJson = new Map();
  memoNow = new Map();
}

function memoOf(p: ProfileConfig): ProfileMemo {
  let m = memoNow.get(p);
  if (m) return m;
  const key = JSON.stringify(p);
  m = memoByJson.get(key) ?? memoByJsonBefore.get(key) ?? { elements: {} };
  memoByJson.set(key, m);
  memoNow.set(p, m);
  return m;
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  for (const v of Object.values(value as object)) deepFreeze(v);
  return Object.freeze(value);
}

/** A v2 profile whose cgroup does not exist yet has no ID, so no element (apply creates the cgroup first). */
function dispatchV2Map(feature: Feature, members: ProfileConfig[], ids: V2Matching['ids']): MapState {
  return {
    name: dispatchV2MapName(feature),
    ...cgroupV2VerdictMapAttrs(),
    elements: members.flatMap((p) => {
      const id = ids[p.name];
      return id === undefined ? [] : [{ key: hostU64(id), verdict: { code: 'jump' as const, chain: profileChainName(feature, p.name) } }];
    }),
  };
}

function baseChain(name: keyof typeof HOOKS, rules: RuleState[]): ChainState {
  return { name, hook: { ...HOOKS[name] }, rules };
}

/** One masquerade rule per distinct (mark, via): profiles sharing a VPN share the rule. */
function masqueradeRules(routed: ProfileConfig[]): RuleState[] {
  const seen = new Set<string>();
  const rules: RuleState[] = [];
  for (const { route } of routed) {
    if (!route?.masquerade) continue;
    const key = `${route.mark}/${route.via}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rules.push(rule(matchMark(route.mark), matchOifname(route.via), counter(), masquerade()));
  }
  return rules;
}

/**
 * Connmark restore, one rule per distinct mark: replies to members' connections get
 * the mark back before routing, so with src_valid_mark=1 strict rp_filter checks
 * their source against the profile's table (where `via` is the way back) instead of
 * main (where it is not), as WireGuard's and Mullvad's setups do.
 */
function restoreMarkRules(routed: ProfileConfig[]): RuleState[] {
  const marks = [...new Set(routed.map((p) => p.route!.mark))];
  return marks.map((mark) => rule(matchCtMark(mark), counter(), restoreMarkFromCt()));
}

function profileChains(p: ProfileConfig): ChainState[] {
  const chains: ChainState[] = [];
  if (p.dns) {
    const to = p.dns.redirect;
    chains.push({
      name: profileChainName('dns', p.name),
      rules: [IPPROTO_UDP, IPPROTO_TCP].map((proto) => rule(matchDport(proto, DNS_PORT), counter(), redirectToPort(to))),
    });
  }
  if (p.ipv6 === 'reject') chains.push({ name: profileChainName('ipv6', p.name), rules: [rule(counter(), reject())] });
  // The mark is saved in the connection (connmark save) for the restore at prerouting.
  if (p.route) chains.push({ name: profileChainName('route', p.name), rules: [rule(counter(), setMark(p.route.mark), saveMarkToCt())] });
  return chains;
}

export function compileTable(name: string, profiles: ProfileConfig[], v2: V2Matching = NO_V2): TableState {
  startMemoGeneration();
  const isV2 = (p: ProfileConfig) => v2.profiles.has(p.name);
  const users = {
    dns: profiles.filter((p) => p.dns),
    ipv6: profiles.filter((p) => p.ipv6 === 'reject'),
    route: profiles.filter((p) => p.route),
  };
  const v1Users = (f: Feature) => users[f].filter((p) => !isV2(p));
  const v2Users = (f: Feature) => users[f].filter(isV2);

  const maps: MapState[] = [];
  for (const f of ['dns', 'ipv6', 'route'] as const) {
    if (v1Users(f).length > 0) maps.push(dispatchMap(f, v1Users(f)));
    if (v2Users(f).length > 0) maps.push(dispatchV2Map(f, v2Users(f), v2.ids));
  }
  /** The dispatch rules of a feature's base chain: by classid, then by cgroup2 ID, each only when used. */
  const dispatch = (f: Feature, ...prefix: Expr[][]): RuleState[] => [
    ...(v1Users(f).length > 0 ? [rule(...prefix, counter(), dispatchByCgroup(dispatchMapName(f)))] : []),
    ...(v2Users(f).length > 0 ? [rule(...prefix, counter(), dispatchByCgroupV2(dispatchV2MapName(f), v2.level))] : []),
  ];

  const chains: ChainState[] = [];
  const dns = users.dns;
  const ipv6 = users.ipv6;
  const routed = users.route;
  if (dns.length > 0) chains.push(baseChain('nat_output', dispatch('dns')));
  if (routed.length > 0) chains.push(baseChain('route_output', dispatch('route')));
  if (ipv6.length > 0) chains.push(baseChain('filter_output', dispatch('ipv6', matchNfproto(NFPROTO_IPV6))));
  const masq = masqueradeRules(routed);
  if (masq.length > 0) chains.push(baseChain('nat_postrouting', masq));
  if (routed.length > 0) chains.push(baseChain('filter_prerouting', restoreMarkRules(routed)));
  for (const p of profiles) {
    const m = memoOf(p);
    chains.push(...(m.chains ??= deepFreeze(profileChains(p))));
  }

  return { family: 'inet', name, maps, chains };
}
