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
import { readHostU32 } from '../nft/index.js';
import { ruleText } from '../render/decompile.js';
import { canonicalCidr, canonicalGateway, normalizeHook, normalizeIpRule, verdictKey } from './normalize.js';

export interface TableView {
  family: 'inet';
  name: string;
}
export interface MapView {
  name: string;
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
  flags: m.flags,
  keyType: m.keyType,
  keyLen: m.keyLen,
  dataType: m.dataType || 0,
  dataLen: m.dataLen || 0,
});

/** A 4-byte key is a meta value (netcg's are cgroup classids): shown as nft shows it, in decimal. */
export function elementKeyText(key: Buffer): string {
  return key.length === 4 ? String(readHostU32(key)) : `0x${key.toString('hex')}`;
}

export function elementView(map: string, e: NftElement): ElementView {
  const value = e.verdict ? verdictKey(e.verdict) : e.data ? `0x${e.data.toString('hex')}` : '';
  return { map, key: elementKeyText(e.key), value };
}

export function chainView(c: ChainState): ChainView {
  const hook = normalizeHook(c.hook) as Required<NftHook> | undefined;
  return hook ? { name: c.name, hook } : { name: c.name };
}

/** nft's text for the rules netcg compiles; anything else (a foreign rule) in a generic form. */
export function exprsText(exprs: readonly Expr[]): string {
  try {
    return ruleText(exprs);
  } catch {
    return exprs
      .map((e) => {
        const { type, ...rest } = e as Expr & Record<string, unknown>;
        const args = Object.entries(rest)
          .filter(([k, v]) => v !== undefined && k !== 'packets' && k !== 'bytes')
          .map(
            ([k, v]) =>
              `${k}=${Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
          );
        return `[${[type, ...args].join(' ')}]`;
      })
      .join(' ');
  }
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

const hex = (n: number) => `0x${n.toString(16)}`;

/** One-line text of a view, as `ip`/`nft` would roughly print it. */
export function viewText(kind: string, v: ObjectView): string {
  switch (kind) {
    case 'table':
      return `table ${(v as TableView).family} ${(v as TableView).name}`;
    case 'map': {
      const m = v as MapView;
      return `flags ${hex(m.flags)} key type ${m.keyType} len ${m.keyLen}, data type ${hex(m.dataType)} len ${m.dataLen}`;
    }
    case 'element': {
      const e = v as ElementView;
      return `${e.key} : ${e.value}`;
    }
    case 'chain': {
      const h = (v as ChainView).hook;
      return h ? `type ${h.type} hook ${h.hook} priority ${h.priority}; policy ${h.policy}` : 'regular chain';
    }
    case 'rule': {
      const r = v as RuleView;
      return r.handle !== undefined ? `${r.text} # handle ${r.handle}` : r.text;
    }
    case 'ip rule': {
      const r = v as IpRuleView;
      const mark =
        r.fwmask === 0 && r.fwmark === 0
          ? 'from all'
          : `from all fwmark ${hex(r.fwmark)}${r.fwmask === 0xffffffff ? '' : `/${hex(r.fwmask)}`}`;
      return `ipv${r.family} ${r.priority}: ${mark} lookup ${r.table} proto ${r.protocol}`;
    }
    case 'route': {
      const r = v as RouteView;
      const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
      const type = r.type === 'unicast' ? '' : `${r.type} `;
      const via = r.gateway !== undefined ? ` via ${r.gateway}` : '';
      return `ipv${r.family} ${type}${dst}${via} dev ${r.dev} table ${r.table} proto ${r.protocol}${r.scope === 'link' ? ' scope link' : ''}`;
    }
    default:
      return JSON.stringify(v);
  }
}
