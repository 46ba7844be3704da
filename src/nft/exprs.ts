// The expression sequences netcg compiles, written exactly as `nft` itself
// generates them for the equivalent rule text (register for register, byte for
// byte), so a ruleset installed over netlink lists identically to one loaded with
// `nft -f`. Each builder names the nft text it stands for; src/render/decompile.ts
// is the inverse and must stay in step.
import type { Expr, MetaKey } from '../native/types.js';
import { hostU32, ifname, port, u8 } from './bytes.js';

/** nft always uses the first 128-bit register for netcg's single-value matches. */
export const REG_1 = 1;
/** NFT_REG_VERDICT: a lookup whose result is a verdict (a vmap). */
export const REG_VERDICT = 0;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;
/** NF_NAT_RANGE_PROTO_SPECIFIED: the redirect carries a port. */
export const NF_NAT_RANGE_PROTO_SPECIFIED = 2;
/** NFT_REJECT_ICMPX_UNREACH + NFT_REJECT_ICMPX_PORT_UNREACH: plain `reject` in an inet table. */
export const NFT_REJECT_ICMPX_UNREACH = 2;
export const NFT_REJECT_ICMPX_PORT_UNREACH = 1;
/** The UDP and TCP destination port both sit 2 bytes into the transport header. */
export const TRANSPORT_DPORT_OFFSET = 2;

export function metaLoad(key: MetaKey): Expr {
  return { type: 'meta', key, dreg: REG_1 };
}

export function cmpEq(data: Buffer): Expr {
  return { type: 'cmp', sreg: REG_1, op: 'eq', data };
}

/** `counter` (a new rule's counter starts at zero). */
export function counter(): Expr {
  return { type: 'counter', packets: 0, bytes: 0 };
}

/** `meta nfproto ipv6` / `meta nfproto ipv4`. */
export function matchNfproto(nfproto: number): Expr[] {
  return [metaLoad('nfproto'), cmpEq(u8(nfproto))];
}

/** `udp dport N` / `tcp dport N`: nft adds the l4proto dependency itself. */
export function matchDport(l4proto: number, dport: number): Expr[] {
  return [
    metaLoad('l4proto'),
    cmpEq(u8(l4proto)),
    { type: 'payload', base: 'transport', offset: TRANSPORT_DPORT_OFFSET, len: 2, dreg: REG_1 },
    cmpEq(port(dport)),
  ];
}

/** The UDP and TCP source port: the first 2 bytes of the transport header. */
export const TRANSPORT_SPORT_OFFSET = 0;
/** IPS_DST_NAT: the connection's destination was translated (`redirect` is one). */
export const IPS_DST_NAT = 0x20;
/** IP_CT_DIR_REPLY. */
export const CT_DIR_REPLY = 1;

/** `udp sport 5354` / `tcp sport 5354`. */
export function matchSport(l4proto: number, sport: number): Expr[] {
  return [
    metaLoad('l4proto'),
    cmpEq(u8(l4proto)),
    { type: 'payload', base: 'transport', offset: TRANSPORT_SPORT_OFFSET, len: 2, dreg: REG_1 },
    cmpEq(port(sport)),
  ];
}

/** Where TCP's flags byte sits in its header, and the SYN bit in it. */
export const TCP_FLAGS_OFFSET = 13;
export const TCP_FLAG_SYN = 0x02;

/** `tcp flags syn` (SYN set, whatever else is: a SYN or a SYN-ACK); after a `tcp` match. */
export function matchTcpSyn(): Expr[] {
  return [
    { type: 'payload', base: 'transport', offset: TCP_FLAGS_OFFSET, len: 1, dreg: REG_1 },
    { type: 'bitwise', sreg: REG_1, dreg: REG_1, len: 1, mask: u8(TCP_FLAG_SYN), xor: u8(0) },
    { type: 'cmp', sreg: REG_1, op: 'neq', data: u8(0) },
  ];
}

/** `ct direction reply`. */
export function matchCtReply(): Expr[] {
  return [{ type: 'ct', key: 'direction', dreg: REG_1 }, cmpEq(u8(CT_DIR_REPLY))];
}

/** `ct status dnat`: the connection was redirected (its destination translated). */
export function matchCtDnat(): Expr[] {
  return [
    { type: 'ct', key: 'status', dreg: REG_1 },
    { type: 'bitwise', sreg: REG_1, dreg: REG_1, len: 4, mask: hostU32(IPS_DST_NAT), xor: hostU32(0) },
    { type: 'cmp', sreg: REG_1, op: 'neq', data: hostU32(0) },
  ];
}

/** `meta skuid != 0`: the packet's socket belongs to another user (no socket: no match). */
export function matchSkuidNot(uid: number): Expr[] {
  return [metaLoad('skuid'), { type: 'cmp', sreg: REG_1, op: 'neq', data: hostU32(uid) }];
}

/** `meta mark 0x0000002b`. */
export function matchMark(mark: number): Expr[] {
  return [metaLoad('mark'), cmpEq(hostU32(mark))];
}

/** `oifname "tun0"`. */
export function matchOifname(name: string): Expr[] {
  return [metaLoad('oifname'), cmpEq(ifname(name))];
}

/** `meta cgroup vmap @map`: one hash lookup jumps to the profile's chain. */
export function dispatchByCgroup(map: string): Expr[] {
  return [metaLoad('cgroup'), { type: 'lookup', sreg: REG_1, set: map, dreg: REG_VERDICT }];
}

/**
 * `socket cgroupv2 level L vmap @map`: the ID of the packet's socket's cgroup
 * ancestor at depth L (the profile's cgroup, also for sockets made in its
 * descendants) is looked up, and jumps to the profile's chain.
 */
export function dispatchByCgroupV2(map: string, level: number): Expr[] {
  return [
    { type: 'socket', key: 'cgroupv2', dreg: REG_1, level },
    { type: 'lookup', sreg: REG_1, set: map, dreg: REG_VERDICT },
  ];
}

/** `redirect to :N`. */
export function redirectToPort(toPort: number): Expr[] {
  return [
    { type: 'immediate', dreg: REG_1, data: port(toPort) },
    { type: 'redir', regProtoMin: REG_1, regProtoMax: REG_1, flags: NF_NAT_RANGE_PROTO_SPECIFIED },
  ];
}

/** `meta mark set 0x0000002b`. */
export function setMark(mark: number): Expr[] {
  return [
    { type: 'immediate', dreg: REG_1, data: hostU32(mark) },
    { type: 'meta', key: 'mark', sreg: REG_1 },
  ];
}

/** `reject`: in an inet table nft sends an ICMPx "port unreachable", which the kernel turns into ICMP or ICMPv6. */
export function reject(): Expr[] {
  return [{ type: 'reject', rejectType: NFT_REJECT_ICMPX_UNREACH, code: NFT_REJECT_ICMPX_PORT_UNREACH }];
}

/** `masquerade`. */
export function masquerade(): Expr[] {
  return [{ type: 'masq' }];
}

/** `ct mark 0x0000002b`: the connection's mark (saved from a member's packet) is this one. */
export function matchCtMark(mark: number): Expr[] {
  return [{ type: 'ct', key: 'mark', dreg: REG_1 }, cmpEq(hostU32(mark))];
}

/** `ct mark set meta mark`: save the packet's mark in its connection (connmark save). */
export function saveMarkToCt(): Expr[] {
  return [metaLoad('mark'), { type: 'ct', key: 'mark', sreg: REG_1 }];
}

/** `meta mark set ct mark`: give a packet its connection's mark (connmark restore). */
export function restoreMarkFromCt(): Expr[] {
  return [
    { type: 'ct', key: 'mark', dreg: REG_1 },
    { type: 'meta', key: 'mark', sreg: REG_1 },
  ];
}

/** NFTA_FIB_F_DADDR with NFT_FIB_RESULT_ADDRTYPE: `fib daddr type`; RTN_LOCAL is the kernel's "local" type. */
export const NFTA_FIB_F_DADDR = 2;
export const NFT_FIB_RESULT_ADDRTYPE = 3;
export const RTN_LOCAL = 2;
/** NFT_REJECT_TCP_RST: `reject with tcp reset`. */
export const NFT_REJECT_TCP_RST = 1;

/** `meta l4proto tcp` / `meta l4proto udp` on its own (not as a dport's dependency). */
export function matchL4proto(l4proto: number): Expr[] {
  return [metaLoad('l4proto'), cmpEq(u8(l4proto))];
}

/** `fib daddr type local` (eq) or `fib daddr type != local`: whether the destination is one of the host's addresses. */
export function matchDaddrLocal(local: boolean): Expr[] {
  return [
    { type: 'fib', flags: NFTA_FIB_F_DADDR, result: NFT_FIB_RESULT_ADDRTYPE, dreg: REG_1 },
    { type: 'cmp', sreg: REG_1, op: local ? 'eq' : 'neq', data: hostU32(RTN_LOCAL) },
  ];
}

/** `reject with tcp reset` (needs a `meta l4proto tcp` match before it). */
export function rejectTcpReset(): Expr[] {
  return [{ type: 'reject', rejectType: NFT_REJECT_TCP_RST, code: 0 }];
}

/** A terminal verdict statement: `accept`, `return`, `drop`. */
export function verdict(code: 'accept' | 'return' | 'drop'): Expr[] {
  return [{ type: 'immediate', dreg: REG_VERDICT, verdict: { code } }];
}
