// The text of a plan's objects, the way `nft list` / `nft monitor`, `ip rule` and
// `ip route` print them, so a person can compare a diff line with what those tools
// show. No kernel attribute numbers (key types, flag bits, family numbers) and no
// empty fields: every part is a word the tools themselves would print.
//   + table inet netcg
//   + map dns_dispatch { typeof meta cgroup : verdict }
//   + chain nat_output { type nat hook output priority -100; policy accept; }
//   + element dns_dispatch { 42 : jump dns_unlocator }
//   - rule dns_unlocator: udp dport 53 counter redirect to :5354 # handle 7
//   + ip rule 10000: from all fwmark 0x2b lookup 43 proto 110
//   + route 0.0.0.0/0 table 43: unreachable default proto 110 metric 4294967295
import { FAIL_CLOSED_METRIC, type NftHook } from '../shared/model.js';
import type { Change, ChangeKind } from './types.js';
import type {
  ChainView,
  ElementView,
  IpRuleView,
  MapView,
  ObjectView,
  RouteView,
  RuleView,
  TableView,
} from './views.js';

/** An object's line in two parts: what it is (`map dns_dispatch`) and how it is (` { typeof … }`). */
interface ObjectText {
  subject: string;
  /** Empty, or starting with ' ' or ': '. */
  detail: string;
}

// nft's standard priority names for the inet family (nftables src/rule.c, as nft 1.0.6
// lists them): raw, mangle, filter and security at any hook, dstnat only at
// prerouting, srcnat only at postrouting; within 10 of one, `filter + 5`.
const STD_PRIORITIES: ReadonlyArray<{ name: string; value: number; hooks?: readonly string[] }> = [
  { name: 'raw', value: -300 },
  { name: 'mangle', value: -150 },
  { name: 'dstnat', value: -100, hooks: ['prerouting'] },
  { name: 'filter', value: 0 },
  { name: 'security', value: 50 },
  { name: 'srcnat', value: 100, hooks: ['postrouting'] },
];

/** A base chain's priority as `nft list` prints it: `mangle`, `filter + 10`, `-100`. */
export function priorityText(hook: string, priority: number): string {
  for (const p of STD_PRIORITIES) {
    if (p.hooks && !p.hooks.includes(hook)) continue;
    const offset = priority - p.value;
    if (offset === 0) return p.name;
    if (Math.abs(offset) <= 10) return `${p.name} ${offset > 0 ? '+' : '-'} ${Math.abs(offset)}`;
  }
  return String(priority);
}

/** The inside of nft's `chain x { … }` for a base chain, e.g. `type nat hook output priority -100; policy accept;`. */
export function hookText(h: Required<NftHook>): string {
  return `type ${h.type} hook ${h.hook} priority ${priorityText(h.hook, h.priority)}; policy ${h.policy};`;
}

// `ip rule` / `ip route` names for the routing tables and protocols in /etc/iproute2's defaults.
const TABLE_NAMES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };
const PROTOCOL_NAMES: Record<number, string> = { 2: 'kernel', 3: 'boot', 4: 'static' };
const protocolText = (p: number) => PROTOCOL_NAMES[p] ?? String(p);

/** An ip rule the way `ip rule` prints it after `PRIORITY:`, e.g. `from all fwmark 0x2b lookup 43 proto 110`. */
export function ipRuleText(r: IpRuleView): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const mark =
    r.fwmark === 0 && r.fwmask === 0
      ? ''
      : ` fwmark ${hex(r.fwmark)}${r.fwmask === 0xffffffff ? '' : `/${hex(r.fwmask)}`}`;
  return `from all${mark} lookup ${TABLE_NAMES[r.table] ?? r.table} proto ${protocolText(r.protocol)}`;
}

/** A route the way `ip route show table N` prints it, e.g. `default via 198.51.100.1 dev eth0 proto 110`. */
export function routeText(r: RouteView): string {
  const all = r.family === 4 ? '0.0.0.0/0' : '::/0';
  const host = r.family === 4 ? '/32' : '/128';
  const dst = r.dst === all ? 'default' : r.dst.endsWith(host) ? r.dst.slice(0, -host.length) : r.dst;
  // netcg's fail-closed routes carry the highest metric (the backends add it; see model.ts).
  const metric = r.type === 'unicast' ? undefined : FAIL_CLOSED_METRIC;
  const parts = [
    ...(r.type === 'unicast' ? [] : [r.type]),
    dst,
    ...(r.gateway ? [`via ${r.gateway}`] : []),
    ...(r.dev ? [`dev ${r.dev}`] : []),
    `proto ${protocolText(r.protocol)}`,
    ...(r.scope === 'link' ? ['scope link'] : []),
    ...(metric !== undefined ? [`metric ${metric}`] : []),
  ];
  return parts.join(' ');
}

/** The two parts of one object's line; `kind` says which view `v` is. */
export function objectText(kind: ChangeKind, v: ObjectView): ObjectText {
  switch (kind) {
    case 'table': {
      const t = v as TableView;
      return { subject: `table ${t.family} ${t.name}`, detail: '' };
    }
    case 'map': {
      const m = v as MapView;
      return { subject: `map ${m.name}`, detail: ` { ${m.text} }` };
    }
    case 'element': {
      const e = v as ElementView;
      return { subject: `element ${e.map}`, detail: ` { ${e.key} : ${e.value} }` };
    }
    case 'chain': {
      const c = v as ChainView;
      return { subject: `chain ${c.name}`, detail: c.hook ? ` { ${hookText(c.hook)} }` : '' };
    }
    case 'rule': {
      const r = v as RuleView;
      const handle = r.handle !== undefined ? ` # handle ${r.handle}` : '';
      return { subject: `rule ${r.chain}`, detail: `: ${r.text}${handle}` };
    }
    case 'ip rule': {
      const r = v as IpRuleView;
      return { subject: `ip${r.family === 6 ? ' -6' : ''} rule ${r.priority}`, detail: `: ${ipRuleText(r)}` };
    }
    case 'route': {
      const r = v as RouteView;
      return { subject: `route ${r.dst} table ${r.table}`, detail: `: ${routeText(r)}` };
    }
  }
}

/** Whether a '~' change re-creates the object as it was (only the kernel handle differs). */
function sameObject(c: Change): boolean {
  if (c.kind === 'rule') return (c.before as RuleView).text === (c.after as RuleView).text;
  return objectText(c.kind, c.before!).detail === objectText(c.kind, c.after!).detail;
}

/**
 * One change as one line, without colour: `+ <object>`, `- <object>`, and for `~`
 * either `~ <object> (re-created)` or `~ <object as it is> -> <as it will be>`.
 */
export function changeText(c: Change): string {
  if (c.action !== '~') {
    const t = objectText(c.kind, (c.action === '+' ? c.after : c.before)!);
    return `${c.action} ${t.subject}${t.detail}`;
  }
  const before = objectText(c.kind, c.before!);
  if (sameObject(c)) return `~ ${before.subject}${before.detail} (re-created)`;
  // A regular chain has nothing between braces; spelled `{ }` so both sides show.
  const shown = (d: string) => (d === '' ? ' { }' : d);
  const after = shown(objectText(c.kind, c.after!).detail).replace(/^:? /, '');
  return `~ ${before.subject}${shown(before.detail)} -> ${after}`;
}
