// Expression list → nft rule text, for exactly the sequences netcg compiles
// (src/nft/exprs.ts is the other direction). It is the nft backend's way to install
// a DesiredState and the tests' way to compare with `nft` itself, so it refuses
// anything it does not recognise rather than guess.
import { NetcgError } from '../shared/errors.js';
import type { Expr } from '../native/types.js';
import {
  IFNAMSIZ,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NF_NAT_RANGE_PROTO_SPECIFIED,
  NFT_REJECT_ICMPX_PORT_UNREACH,
  NFT_REJECT_ICMPX_UNREACH,
  NFT_REJECT_TCP_RST,
  NFTA_FIB_F_DADDR,
  NFT_FIB_RESULT_ADDRTYPE,
  RTN_LOCAL,
  TRANSPORT_DPORT_OFFSET,
  TRANSPORT_SPORT_OFFSET,
  TCP_FLAGS_OFFSET,
  TCP_FLAG_SYN,
  CT_DIR_REPLY,
  IPS_DST_NAT,
  REG_VERDICT,
  readHostU32,
  readIfname,
} from '../nft/index.js';

const NFPROTO_NAMES: Record<number, string> = { [NFPROTO_IPV4]: 'ipv4', [NFPROTO_IPV6]: 'ipv6' };
const L4PROTO_NAMES: Record<number, string> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp' };

type ExprOf<T extends Expr['type']> = Extract<Expr, { type: T }>;

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

class Reader {
  private i = 0;
  constructor(private readonly exprs: readonly Expr[]) {}

  /** The index of the next expression (anyRuleText rewinds to it after a statement failed). */
  get position(): number {
    return this.i;
  }

  set position(i: number) {
    this.i = i;
  }

  get done(): boolean {
    return this.i >= this.exprs.length;
  }

  fail(why: string): never {
    throw new NetcgError(
      'ERENDER',
      `cannot render expression ${this.i} of [${this.exprs.map((e) => e.type).join(', ')}] as nft text: ${why}`,
    );
  }

  peek(): Expr | undefined {
    return this.exprs[this.i];
  }

  next(): Expr {
    const e = this.exprs[this.i++];
    if (!e) this.fail('the rule ends in the middle of a statement');
    return e;
  }

  expect<T extends Expr['type']>(type: T, ok: (e: ExprOf<T>) => boolean, what: string): ExprOf<T> {
    const e = this.next();
    if (e.type !== type || !ok(e as ExprOf<T>)) this.fail(`expected ${what}, got ${JSON.stringify(e)}`);
    return e as ExprOf<T>;
  }

  /** The `cmp eq` that completes a load into `reg`, with data of `len` bytes. */
  cmpEq(reg: number, len: number, what: string): Buffer {
    return this.expect(
      'cmp',
      (c) => c.op === 'eq' && c.sreg === reg && c.data.length === len,
      `cmp eq of ${len} bytes (${what})`,
    ).data;
  }
}

/** One statement starting at a meta load. */
function metaLoad(r: Reader, load: ExprOf<'meta'> & { dreg: number }): string {
  const reg = load.dreg;
  switch (load.key) {
    case 'nfproto': {
      const value = r.cmpEq(reg, 1, 'meta nfproto')[0]!;
      return `meta nfproto ${NFPROTO_NAMES[value] ?? r.fail(`unknown nfproto ${value}`)}`;
    }
    case 'mark': {
      const user = r.peek();
      if (user?.type === 'ct' && 'sreg' in user && user.key === 'mark' && user.sreg === reg) {
        r.next();
        return 'ct mark set meta mark';
      }
      return `meta mark ${hex32(readHostU32(r.cmpEq(reg, 4, 'meta mark')))}`;
    }
    case 'oifname': {
      const name = readIfname(r.cmpEq(reg, IFNAMSIZ, 'oifname'));
      return `oifname "${name ?? r.fail('oifname is not a zero-padded exact name')}"`;
    }
    case 'l4proto': {
      const proto = r.cmpEq(reg, 1, 'meta l4proto')[0]!;
      const name = L4PROTO_NAMES[proto] ?? r.fail(`unknown l4proto ${proto}`);
      if (r.peek()?.type !== 'payload') return `meta l4proto ${name}`;
      const load = r.expect(
        'payload',
        (p) =>
          p.base === 'transport' &&
          (p.offset === TRANSPORT_DPORT_OFFSET || p.offset === TRANSPORT_SPORT_OFFSET) &&
          p.len === 2,
        `payload load of ${name} dport or sport`,
      );
      const which = load.offset === TRANSPORT_DPORT_OFFSET ? 'dport' : 'sport';
      return `${name} ${which} ${r.cmpEq(reg, 2, which).readUInt16BE(0)}`;
    }
    case 'skuid': {
      const cmp = r.expect(
        'cmp',
        (c) => c.op === 'neq' && c.sreg === reg && c.data.length === 4,
        'cmp neq of 4 bytes (meta skuid)',
      );
      return `meta skuid != ${readHostU32(cmp.data)}`;
    }
    case 'cgroup': {
      const lookup = r.expect(
        'lookup',
        (l) => l.sreg === reg && l.dreg === REG_VERDICT && !l.invert,
        'a verdict map lookup',
      );
      return `meta cgroup vmap @${lookup.set}`;
    }
    default:
      return r.fail(`meta ${load.key} is not a match netcg compiles`);
  }
}

/** One statement starting at a `ct mark` load: a match, or the connmark restore. */
function ctMarkLoad(r: Reader, load: ExprOf<'ct'> & { dreg: number }): string {
  const user = r.peek();
  if (user?.type === 'meta' && 'sreg' in user && user.key === 'mark' && user.sreg === load.dreg) {
    r.next();
    return 'meta mark set ct mark';
  }
  return `ct mark ${hex32(readHostU32(r.cmpEq(load.dreg, 4, 'ct mark')))}`;
}

/** `ct direction reply` or `ct status dnat`, the matches of the `dns.server` rules. */
function ctLoad(r: Reader, load: ExprOf<'ct'> & { dreg: number }): string {
  if (load.key === 'direction' && load.dir === undefined) {
    const dir = r.cmpEq(load.dreg, 1, 'ct direction')[0];
    return dir === CT_DIR_REPLY
      ? 'ct direction reply'
      : r.fail(`ct direction ${dir} is not one netcg compiles`);
  }
  if (load.key === 'status' && load.dir === undefined) {
    r.expect(
      'bitwise',
      (b) =>
        b.sreg === load.dreg &&
        b.dreg === load.dreg &&
        b.len === 4 &&
        readHostU32(b.mask) === IPS_DST_NAT &&
        readHostU32(b.xor) === 0,
      'bitwise & dnat',
    );
    r.expect(
      'cmp',
      (c) => c.op === 'neq' && c.sreg === load.dreg && c.data.length === 4 && readHostU32(c.data) === 0,
      'cmp neq 0 (ct status dnat)',
    );
    return 'ct status dnat';
  }
  return r.fail(`ct ${load.key} is not a match netcg compiles`);
}

/** `tcp flags syn`: the flags byte, & SYN, != 0. */
function tcpFlagsSyn(r: Reader, load: ExprOf<'payload'>): string {
  r.expect(
    'bitwise',
    (b) =>
      b.sreg === load.dreg &&
      b.dreg === load.dreg &&
      b.len === 1 &&
      b.mask[0] === TCP_FLAG_SYN &&
      b.xor[0] === 0,
    'bitwise & syn',
  );
  r.expect(
    'cmp',
    (c) => c.op === 'neq' && c.sreg === load.dreg && c.data.length === 1 && c.data[0] === 0,
    'cmp neq 0 (tcp flags syn)',
  );
  return 'tcp flags syn';
}

/** One statement starting at an immediate load of data. */
function immediate(r: Reader, imm: ExprOf<'immediate'> & { data: Buffer }): string {
  const user = r.next();
  if (
    user.type === 'redir' &&
    imm.data.length === 2 &&
    user.regProtoMin === imm.dreg &&
    user.regProtoMax === imm.dreg &&
    user.flags === NF_NAT_RANGE_PROTO_SPECIFIED
  )
    return `redirect to :${imm.data.readUInt16BE(0)}`;
  if (
    user.type === 'meta' &&
    'sreg' in user &&
    user.key === 'mark' &&
    user.sreg === imm.dreg &&
    imm.data.length === 4
  )
    return `meta mark set ${hex32(readHostU32(imm.data))}`;
  return r.fail(`an immediate followed by ${JSON.stringify(user)}`);
}

/** `fib daddr type local` / `fib daddr type != local`: the only fib match netcg compiles. */
function fibDaddrType(r: Reader, fib: ExprOf<'fib'>): string {
  if (fib.flags !== NFTA_FIB_F_DADDR || fib.result !== NFT_FIB_RESULT_ADDRTYPE)
    r.fail(`fib flags ${fib.flags} result ${fib.result} is not \`fib daddr type\``);
  const cmp = r.expect(
    'cmp',
    (c) => (c.op === 'eq' || c.op === 'neq') && c.sreg === fib.dreg && c.data.length === 4,
    'cmp eq/neq of 4 bytes (fib daddr type)',
  );
  if (readHostU32(cmp.data) !== RTN_LOCAL) r.fail('fib daddr type compared with another type than local');
  return `fib daddr type ${cmp.op === 'neq' ? '!= ' : ''}local`;
}

/** A `reject` statement: plain (ICMPx port unreachable) or `with tcp reset`. */
function rejectText(r: Reader, e: ExprOf<'reject'>): string {
  if (e.rejectType === NFT_REJECT_ICMPX_UNREACH && e.code === NFT_REJECT_ICMPX_PORT_UNREACH) return 'reject';
  if (e.rejectType === NFT_REJECT_TCP_RST) return 'reject with tcp reset';
  return r.fail(`${JSON.stringify(e)} is not a reject netcg compiles`);
}

/** One statement starting at `e` (already read), or a failure. */
function statement(r: Reader, e: Expr): string {
  if (e.type === 'meta' && 'dreg' in e) return metaLoad(r, e);
  if (e.type === 'immediate' && 'data' in e) return immediate(r, e);
  if (e.type === 'ct' && 'dreg' in e && e.key === 'mark' && e.dir === undefined) return ctMarkLoad(r, e);
  if (e.type === 'ct' && 'dreg' in e && e.key !== 'mark') return ctLoad(r, e);
  if (e.type === 'socket' && e.key === 'cgroupv2' && e.level !== undefined) {
    const lookup = r.expect(
      'lookup',
      (l) => l.sreg === e.dreg && l.dreg === REG_VERDICT && !l.invert,
      'a verdict map lookup',
    );
    return `socket cgroupv2 level ${e.level} vmap @${lookup.set}`;
  }
  if (e.type === 'payload' && e.base === 'transport' && e.offset === TCP_FLAGS_OFFSET && e.len === 1)
    return tcpFlagsSyn(r, e);
  if (e.type === 'counter') return 'counter';
  if (e.type === 'reject') return rejectText(r, e);
  if (e.type === 'fib') return fibDaddrType(r, e);
  if (
    e.type === 'immediate' &&
    'verdict' in e &&
    (e.verdict.code === 'accept' || e.verdict.code === 'return' || e.verdict.code === 'drop')
  )
    return e.verdict.code;
  if (e.type === 'masq' && e.regProtoMin === undefined && e.regProtoMax === undefined && !e.flags)
    return 'masquerade';
  return r.fail(`${JSON.stringify(e)} is not an expression netcg compiles`);
}

/** The nft text of one rule, e.g. `udp dport 53 counter redirect to :5354`. */
export function ruleText(exprs: readonly Expr[]): string {
  const r = new Reader(exprs);
  const parts: string[] = [];
  while (!r.done) parts.push(statement(r, r.next()));
  return parts.join(' ');
}

/** An expression this decompiler does not know, as its kernel attributes: `[payload base=network offset=16 len=4 dreg=1]`. */
function rawExprText(e: Expr): string {
  const { type, ...rest } = e as Expr & Record<string, unknown>;
  const args = Object.entries(rest)
    .filter(([k, v]) => v !== undefined && k !== 'packets' && k !== 'bytes')
    .map(([k, v]) => {
      const value = Buffer.isBuffer(v)
        ? `0x${v.toString('hex')}`
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
      return `${k}=${value}`;
    });
  return `[${[type, ...args].join(' ')}]`;
}

/**
 * The text of any rule, e.g. one added to netcg's table by hand: the statements
 * netcg compiles in nft syntax, every other expression in brackets as the kernel
 * holds it (`tcp dport 853 counter [immediate dreg=0 verdict={"code":"jump","chain":"x"}]`).
 */
export function anyRuleText(exprs: readonly Expr[]): string {
  const r = new Reader(exprs);
  const parts: string[] = [];
  while (!r.done) {
    const start = r.position;
    try {
      parts.push(statement(r, r.next()));
    } catch {
      r.position = start + 1;
      parts.push(rawExprText(exprs[start]!));
    }
  }
  return parts.join(' ');
}
