// Foreign routes in bulk, for the busy-host tests and the foreign-routes bench:
// what a full-table router or a big VPN route set puts in a namespace. Blackhole
// /64s from 2001:db8::/32 (documentation space), protocol static, main table,
// added through `ip -6 -batch` in chunks (about 100k routes a second).
import type { Netns } from './netns.js';

const CHUNK = 50_000;

/** The i-th foreign prefix: 2001:db8:<hi>:<lo>::/64. */
export function foreignPrefix(i: number): string {
  return `2001:db8:${((i >>> 16) & 0xffff).toString(16)}:${(i & 0xffff).toString(16)}::/64`;
}

/** `ip -6 -batch` lines that add (or delete) routes from..to-1. */
export function foreignRouteBatch(from: number, to: number, verb: 'add' | 'del' = 'add'): string {
  const lines: string[] = [];
  for (let i = from; i < to; i++) lines.push(`route ${verb} blackhole ${foreignPrefix(i)} proto static`);
  return `${lines.join('\n')}\n`;
}

/** Adds `count` foreign IPv6 routes to the namespace's main table. */
export function addForeignRoutes(ns: Netns, count: number): void {
  for (let from = 0; from < count; from += CHUNK)
    ns.run('ip', ['-6', '-batch', '-'], foreignRouteBatch(from, Math.min(count, from + CHUNK)));
}
