// Canonical keys for comparing what netcg wants with what the kernel reports.
// Two objects are "the same" for the planner exactly when their keys are equal,
// so every spelling difference the kernel introduces on read-back has to be folded
// here, or the plan churns (re-sends objects that are already right) forever:
//   - counters: packet/byte values change with traffic, only the presence counts;
//   - optional attributes the kernel reports with their default (masq/redir flags 0,
//     lookup invert false, base chain policy accept, map data type/len absent = 0);
//   - set elements: order is irrelevant (sets are hashed), each element keyed by its key bytes;
//   - ip rules: FRA_FWMASK absent means 0xffffffff when a mark is set and 0 when it is not
//     (the kernel's own rule, fib_nl2rule), so `fwmark 0/0xffff` ≠ `fwmark 0`;
//   - routes: CIDR spelling (IPv6 compressed lower case, host bits) is canonicalised.
import type {
  ChainState,
  Expr,
  IpRuleSpec,
  MapState,
  NftElement,
  NftHook,
  RouteSpec,
  Verdict,
} from '../shared/model.js';

/** JSON with sorted keys, Buffers as hex and undefined dropped: a stable text for any plain value. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify(`0x${Buffer.from(value).toString('hex')}`);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Every attribute an Expr may carry, in a fixed order: the key is built by hand
// rather than by sorting JSON because a 10,000-profile table has 40,000 rules and
// the planner keys each of them on every run.
const EXPR_FIELDS = [
  'key',
  'dreg',
  'sreg',
  'op',
  'base',
  'offset',
  'len',
  'data',
  'mask',
  'xor',
  'set',
  'invert',
  'verdict',
  'regProtoMin',
  'regProtoMax',
  'flags',
  'rejectType',
  'code',
  'dir',
  'level',
  'result',
] as const;
const NOT_CONFIGURATION = new Set<string>(['type', 'packets', 'bytes']);
const KNOWN_FIELDS = new Set<string>([...EXPR_FIELDS, ...NOT_CONFIGURATION]);

/** Attributes whose absence and zero/false mean the same (the kernel reports either). */
function isDefault(type: string, field: string, value: unknown): boolean {
  if (field === 'flags') return !value && (type === 'masq' || type === 'redir');
  if (field === 'invert' || field === 'level') return !value;
  return false;
}

function fieldText(value: unknown): string {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex');
  if (value !== null && typeof value === 'object') return canonicalJson(value);
  return String(value);
}

/**
 * Identity of one expression: its type and configuration. A counter's packet and
 * byte values are traffic, not configuration, so they are left out. Fields this
 * list does not know (e.g. a foreign expression the addon could not decode) are
 * still part of the key.
 */
export function exprKey(e: Expr): string {
  const rec = e as unknown as Record<string, unknown>;
  let key: string = e.type;
  for (const field of EXPR_FIELDS) {
    const value = rec[field];
    if (value === undefined || isDefault(e.type, field, value)) continue;
    key += ` ${field}=${fieldText(value)}`;
  }
  for (const field in rec)
    if (!KNOWN_FIELDS.has(field) && rec[field] !== undefined) key += ` ${field}=${canonicalJson(rec[field])}`;
  return key;
}

function fieldEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    // Register data is at most 16 bytes: a JS loop beats a call into C++ here.
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object')
    return canonicalJson(a) === canonicalJson(b);
  return false;
}

/** exprKey(a) === exprKey(b), without building the keys (the planner's hot path: only the fields present are visited). */
export function exprEqual(a: Expr, b: Expr): boolean {
  if (a.type !== b.type) return false;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  let fieldsA = 0;
  for (const field in ra) {
    const va = ra[field];
    if (va === undefined || NOT_CONFIGURATION.has(field) || isDefault(a.type, field, va)) continue;
    fieldsA++;
    const vb = rb[field];
    if (vb === undefined || !fieldEqual(va, vb)) return false;
  }
  let fieldsB = 0;
  for (const field in rb) {
    const vb = rb[field];
    if (vb === undefined || NOT_CONFIGURATION.has(field) || isDefault(b.type, field, vb)) continue;
    fieldsB++;
  }
  return fieldsA === fieldsB;
}

export function rulesEqual(a: readonly Expr[], b: readonly Expr[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!exprEqual(a[i]!, b[i]!)) return false;
  return true;
}

/** Identity of a rule's content inside its chain (the handle is not part of it). */
export function ruleContentKey(exprs: readonly Expr[]): string {
  return exprs.map(exprKey).join(' ; ');
}

export function verdictKey(v: Verdict): string {
  return 'chain' in v ? `${v.code} ${v.chain}` : v.code;
}

/** An element's identity within its map: its key bytes. */
export function elementKey(e: NftElement): string {
  return e.key.toString('hex');
}

/** What an element maps to (verdict or data), for detecting a changed element. */
export function elementValueKey(e: NftElement): string {
  if (e.verdict) return `verdict:${verdictKey(e.verdict)}`;
  if (e.data) return `data:${e.data.toString('hex')}`;
  return '';
}

/** The map attributes that cannot change in place: a difference means delete and re-create. */
export function mapAttrsKey(m: MapState): string {
  return canonicalJson({
    flags: m.flags,
    keyType: m.keyType,
    keyLen: m.keyLen,
    dataType: m.dataType || 0,
    dataLen: m.dataLen || 0,
    userdata: m.userdata && m.userdata.length > 0 ? m.userdata : undefined,
  });
}

export function normalizeHook(h: NftHook | undefined): NftHook | undefined {
  if (!h) return undefined;
  return { type: h.type, hook: h.hook, priority: h.priority, policy: h.policy ?? 'accept' };
}

/** A chain's identity beyond its name: regular chain, or base chain at this hook. */
export function chainAttrsKey(c: ChainState): string {
  const h = c.hook;
  return h ? `${h.type} ${h.hook} ${h.priority} ${h.policy ?? 'accept'}` : 'regular';
}

/** The verdict targets (jump/goto) and sets a rule references: what it keeps busy. */
export function ruleReferences(exprs: readonly Expr[]): { chains: string[]; sets: string[] } {
  const chains: string[] = [];
  const sets: string[] = [];
  for (const e of exprs) {
    if (e.type === 'immediate' && 'verdict' in e && 'chain' in e.verdict) chains.push(e.verdict.chain);
    if (e.type === 'lookup') sets.push(e.set);
  }
  return { chains, sets };
}

// ---- rtnetlink -------------------------------------------------------------

/** The fwmark mask the kernel applies: FRA_FWMASK, else all ones if a mark is set, else none. */
export function effectiveFwmask(r: Pick<IpRuleSpec, 'fwmark' | 'fwmask'>): number {
  if (r.fwmask !== undefined) return r.fwmask >>> 0;
  return r.fwmark ? 0xffffffff : 0;
}

/** An ip rule with its mask made explicit; the form plans and diffs show. */
export function normalizeIpRule(r: IpRuleSpec): IpRuleSpec {
  return {
    family: r.family,
    priority: r.priority,
    table: r.table,
    fwmark: r.fwmark >>> 0,
    fwmask: effectiveFwmask(r),
    protocol: r.protocol,
  };
}

/** Everything that makes an ip rule: rules are only added or deleted, never changed. */
export function ipRuleKey(r: IpRuleSpec): string {
  const n = normalizeIpRule(r);
  return `${n.family}|${n.priority}|${n.fwmark}/${n.fwmask}|${n.table}|${n.protocol}`;
}

function canonicalIpv6(addr: string): string {
  // The WHATWG URL parser serialises IPv6 hosts in RFC 5952 form (compressed, lower case).
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
}

function ipv4ToInt(addr: string): number {
  return addr.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/** '2001:DB8:0::/32' → '2001:db8::/32'; '198.18.0.7/24' → '198.18.0.0/24'; no prefix → host route. */
export function canonicalCidr(cidr: string, family: 4 | 6): string {
  const [addr = '', lenText] = cidr.split('/');
  const len = lenText === undefined ? (family === 4 ? 32 : 128) : Number(lenText);
  if (family === 4) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const n = (ipv4ToInt(addr) & mask) >>> 0;
    return `${[24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.')}/${len}`;
  }
  const full = canonicalIpv6(addr);
  // Clear host bits: expand to 8 groups, mask, re-compress.
  const groups = expandIpv6(full);
  const masked = groups.map((g, i) => {
    const bits = Math.max(0, Math.min(16, len - i * 16));
    return bits === 0 ? 0 : g & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${canonicalIpv6(masked.map((g) => g.toString(16)).join(':'))}/${len}`;
}

function expandIpv6(addr: string): number[] {
  const [head = '', tail] = addr.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** A next hop as the kernel prints it (IPv6 compressed, lower case), whatever the config's spelling. */
export function canonicalGateway(addr: string, family: 4 | 6): string {
  return canonicalCidr(addr, family).split('/')[0]!;
}

/** A route's identity in the kernel: one route per destination in a table (netcg sets no metric or tos). */
export function routeIdentity(r: RouteSpec): string {
  // A fail-closed route shares its destination with the unicast default but has its
  // own metric, so to the kernel it is another route (not a changed one).
  return `${r.family}|${r.table}|${canonicalCidr(r.dst, r.family)}${r.type === 'unicast' ? '' : `|${r.type}`}`;
}

/** The rest of a route: a difference is a change (delete and re-add). */
export function routeAttrsKey(r: RouteSpec): string {
  const gateway = r.gateway === undefined ? '' : canonicalGateway(r.gateway, r.family);
  return `${r.dev}|${gateway}|${r.scope}|${r.type}|${r.protocol}`;
}
