// The nf_tables half of compile: netcg's one inet table. Each feature has a base
// chain at the hook its semantics need and a verdict map keyed by the packet's
// cgroup classid, so a packet costs one hash lookup however many profiles exist;
// the map jumps into the profile's own chain. See docs/ruleset.md for the text.
import type { ProfileConfig } from '../config/index.js';
import type { ChainState, Expr, MapState, NftHook, RuleState, TableState } from '../model.js';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  NFPROTO_IPV6,
  cgroupVerdictMapAttrs,
  counter,
  dispatchByCgroup,
  hostU32,
  masquerade,
  matchDport,
  matchMark,
  matchNfproto,
  matchOifname,
  redirectToPort,
  reject,
  setMark,
} from '../nft/index.js';

const DNS_PORT = 53;

/** nft's named priorities: dstnat -100, mangle -150, filter 0, srcnat 100. */
const HOOKS = {
  nat_output: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
  route_output: { type: 'route', hook: 'output', priority: -150, policy: 'accept' },
  filter_output: { type: 'filter', hook: 'output', priority: 0, policy: 'accept' },
  nat_postrouting: { type: 'nat', hook: 'postrouting', priority: 100, policy: 'accept' },
} as const satisfies Record<string, NftHook>;

type Feature = 'dns' | 'ipv6' | 'route';

export const dispatchMapName = (feature: Feature): string => `${feature}_dispatch`;
export const profileChainName = (feature: Feature, profile: string): string => `${feature}_${profile}`;

function rule(...parts: Array<Expr | Expr[]>): RuleState {
  return { exprs: parts.flat() };
}

function dispatchMap(feature: Feature, members: ProfileConfig[]): MapState {
  return {
    name: dispatchMapName(feature),
    ...cgroupVerdictMapAttrs(),
    elements: members.map((p) => ({ key: hostU32(p.classid), verdict: { code: 'jump', chain: profileChainName(feature, p.name) } })),
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
  if (p.route) chains.push({ name: profileChainName('route', p.name), rules: [rule(counter(), setMark(p.route.mark))] });
  return chains;
}

export function compileTable(name: string, profiles: ProfileConfig[]): TableState {
  const dns = profiles.filter((p) => p.dns);
  const ipv6 = profiles.filter((p) => p.ipv6 === 'reject');
  const routed = profiles.filter((p) => p.route);

  const maps: MapState[] = [];
  if (dns.length > 0) maps.push(dispatchMap('dns', dns));
  if (ipv6.length > 0) maps.push(dispatchMap('ipv6', ipv6));
  if (routed.length > 0) maps.push(dispatchMap('route', routed));

  const chains: ChainState[] = [];
  if (dns.length > 0) chains.push(baseChain('nat_output', [rule(counter(), dispatchByCgroup(dispatchMapName('dns')))]));
  if (routed.length > 0) chains.push(baseChain('route_output', [rule(counter(), dispatchByCgroup(dispatchMapName('route')))]));
  if (ipv6.length > 0)
    chains.push(baseChain('filter_output', [rule(matchNfproto(NFPROTO_IPV6), counter(), dispatchByCgroup(dispatchMapName('ipv6')))]));
  const masq = masqueradeRules(routed);
  if (masq.length > 0) chains.push(baseChain('nat_postrouting', masq));
  for (const p of profiles) chains.push(...profileChains(p));

  return { family: 'inet', name, maps, chains };
}
