// The plain-JSON views of the objects a plan touches: what `netcg diff` prints and
// what `--json` emits (docs/diff-json.md). No Buffers, no kernel numbers where a
// name exists, so the output is readable and stable across runs.
import type {
  ChainState,
  Expr,
  IpRuleSpec,
  MapState,
  NftElement,
  NftHook,
  RouteSpec,
  TableState,
} from '../shared/model.js';
import {
  cgroupV2VerdictMapUserdata,
  cgroupVerdictMapUserdata,
  NFT_DATA_VERDICT,
  NFT_SET_MAP,
  readHostU32,
  readHostU64,
  TYPE_CGROUPV2,
  TYPE_INTEGER,
} from '../nft/index.js';
import { anyRuleText } from '../render/decompile.js';
import { canonicalCidr, canonicalGateway, normalizeHook, normalizeIpRule, verdictKey } from './normalize.js';

export interface TableView {
  family: 'inet';
  name: string;
}
export interface MapView {
  name: string;
  /** What `nft list` prints between the map's braces, e.g. `typeof meta cgroup : verdict`. */
  text: string;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType: number;
  dataLen: number;
}
export interface ElementView {
  map: string;
  key: string;
  value: string;
}
export interface ChainView {
  name: string;
  hook?: Required<NftHook>;
}
export interface RuleView {
  chain: string;
  text: string;
  handle?: number;
  position?: number;
}
export interface IpRuleView {
  family: 4 | 6;
  priority: number;
  fwmark: number;
  fwmask: number;
  table: number;
  protocol: number;
}
export type RouteView = RouteSpec;

export type ObjectView = TableView | MapView | ElementView | ChainView | RuleView | IpRuleView | RouteView;

export const tableView = (t: Pick<TableState, 'family' | 'name'>): TableView => ({
  family: t.family,
  name: t.name,
});

export const mapView = (m: MapState): MapView => ({
  name: m.name,
  text: mapText(m),
  flags: m.flags,
  keyType: m.keyType,
  keyLen: m.keyLen,
  dataType: m.dataType || 0,
  dataLen: m.dataLen || 0,
});

/**
 * A key as nft shows it: a 4-byte key (netcg's cgroup classids) and an 8-byte one
 * (cgroup2 IDs; nft prints the path when it can resolve it, else this number) in
 * decimal, anything else as hex bytes.
 */
export function elementKeyText(key: Buffer): string {
  if (key.length === 4) return String(readHostU32(key));
  if (key.length === 8) return readHostU64(key).toString();
  return `0x${key.toString('hex')}`;
}

export function elementView(map: string, e: NftElement): ElementView {
  const value = e.verdict ? verdictKey(e.verdict) : e.data ? `0x${e.data.toString('hex')}` : '';
  return { map, key: elementKeyText(e.key), value };
}

export function chainView(c: ChainState): ChainView {
  const hook = normalizeHook(c.hook) as Required<NftHook> | undefined;
  return hook ? { name: c.name, hook } : { name: c.name };
}

/** nft's text for the rules netcg compiles; in anything else (a foreign rule) the unknown expressions in brackets. */
export function exprsText(exprs: readonly Expr[]): string {
  return anyRuleText(exprs);
}

export function ruleView(
  chain: string,
  exprs: readonly Expr[],
  where: { handle?: number; position?: number },
): RuleView {
  return { chain, text: exprsText(exprs), ...where };
}

export function ipRuleView(r: IpRuleSpec): IpRuleView {
  const n = normalizeIpRule(r);
  return {
    family: n.family,
    priority: n.priority,
    fwmark: n.fwmark,
    fwmask: n.fwmask!,
    table: n.table,
    protocol: n.protocol,
  };
}

export function routeView(r: RouteSpec): RouteView {
  return {
    family: r.family,
    table: r.table,
    dst: canonicalCidr(r.dst, r.family),
    dev: r.dev,
    ...(r.gateway !== undefined ? { gateway: canonicalGateway(r.gateway, r.family) } : {}),
    scope: r.scope,
    protocol: r.protocol,
    type: r.type,
  };
}

// nftables' datatype names (enum datatypes in its datatype.h) for the key and data
// types a map in netcg's table may plausibly have; `nft list` prints these words.
const DATATYPE_NAMES: Record<number, string> = {
  1: 'verdict',
  2: 'nf_proto',
  4: 'integer',
  5: 'string',
  7: 'ipv4_addr',
  8: 'ipv6_addr',
  9: 'ether_addr',
  12: 'inet_proto',
  13: 'inet_service',
  19: 'mark',
  20: 'iface_index',
  23: 'classid',
  24: 'uid',
  25: 'gid',
  41: 'ifname',
  [TYPE_CGROUPV2]: 'cgroupsv2',
};

// enum nft_set_flags, as nft lists them (`map` is said by the object itself).
const SET_FLAGS: ReadonlyArray<[number, string]> = [
  [0x1, 'anonymous'],
  [0x2, 'constant'],
  [0x4, 'interval'],
  [0x10, 'timeout'],
  [0x20, 'dynamic'],
];

function datatypeText(type: number): string {
  // Concatenations (`type ipv4_addr . inet_service`) pack 6-bit type numbers into one.
  const parts: string[] = [];
  for (let t = type; t > 0; t = Math.floor(t / 64)) parts.unshift(DATATYPE_NAMES[t % 64] ?? 'integer');
  return parts.length > 0 ? parts.join(' . ') : 'integer';
}

/**
 * What `nft list` prints inside `map NAME { … }`: the `typeof` line of the two maps
 * netcg creates (nft 1.0.6 does not record a socket cgroupv2 level in the map, so it
 * lists level 0 whatever the rule uses), else `type KEY : DATA` and the flags.
 */
export function mapText(m: MapState): string {
  const ud = m.userdata;
  const verdictMap = m.flags === NFT_SET_MAP && m.dataType === NFT_DATA_VERDICT;
  if (verdictMap && m.keyType === TYPE_INTEGER && ud?.equals(cgroupVerdictMapUserdata()))
    return 'typeof meta cgroup : verdict';
  if (verdictMap && m.keyType === TYPE_CGROUPV2 && ud?.equals(cgroupV2VerdictMapUserdata()))
    return 'typeof socket cgroupv2 level 0 : verdict';
  const data =
    m.flags & NFT_SET_MAP
      ? ` : ${m.dataType === NFT_DATA_VERDICT ? 'verdict' : datatypeText(m.dataType)}`
      : '';
  const flags = SET_FLAGS.filter(([bit]) => m.flags & bit).map(([, name]) => name);
  return `type ${datatypeText(m.keyType)}${data}${flags.length > 0 ? `; flags ${flags.join(',')}` : ''}`;
}
