// The storm of issue 10, shared by its kernel test (test/e2e/watch-storm.test.ts)
// and its benchmark (bench/storm.mjs, through build-testbed/): a `netcg watch --json` daemon in a
// throwaway namespace is stopped (SIGSTOP) while a firewall manager loads a
// 200,000-element set into another table and a routing daemon adds and deletes
// 20,000 routes, so the kernel drops the daemon's events (an overrun); then it is
// resumed, and netcg's table is deleted and netcg's routes are flushed. What is
// measured: how long each takes to be repaired, polled every 10 ms from the
// moment of the damage. Addresses only from 198.18.0.0/15 and 2001:db8::/32.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Netns } from './netns.js';

export const STORM_SET_ELEMENTS = 200_000;
export const STORM_ROUTES = 20_000;
/** The routing table of the storm config's one profile. */
export const STORM_ROUTE_TABLE = 43;
/** The veth the profile routes through, and the one the foreign routes use. */
const VIA = 'storm0';
const FOREIGN_DEV = 'flood0';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one-profile config (table and cgroupParent are the caller's, unique per run). */
export function stormConfig(table: string, cgroupParent: string): string {
  return `table: ${table}
cgroupParent: ${cgroupParent}
profiles:
  vpn:
    classid: 0x10043
    ipv6: reject
    route: { via: ${VIA}, table: ${STORM_ROUTE_TABLE} }
`;
}

/** Two veth pairs: the profile's `via` and the foreign routes' device. */
export function stormTopology(ns: Netns): void {
  for (const dev of [VIA, FOREIGN_DEV]) {
    ns.ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
    ns.ip('link', 'set', `${dev}p`, 'up');
    ns.ip('link', 'set', dev, 'up');
  }
  ns.ip('addr', 'add', '198.18.255.1/24', 'dev', FOREIGN_DEV);
}

/** Writes the two storm inputs into `dir`: an `nft -f` file and an `ip -batch` file. */
export function stormFiles(dir: string): { nftFile: string; ipBatch: string } {
  const elements: string[] = [];
  for (let i = 0; i < STORM_SET_ELEMENTS; i++)
    elements.push(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`);
  const lines: string[] = [];
  for (let i = 0; i < elements.length; i += 1000)
    lines.push(`      ${elements.slice(i, i + 1000).join(', ')},`);
  const nftFile = join(dir, 'storm.nft');
  // Created empty first so that the delete works on every round.
  writeFileSync(
    nftFile,
    `table inet stormfw\ndelete table inet stormfw\ntable inet stormfw {\n  set big {\n    type ipv6_addr\n    elements = {\n${lines.join('\n')}\n    }\n  }\n}\n`,
  );
  const routes: string[] = [];
  for (let i = 0; i < STORM_ROUTES; i++) routes.push(`198.18.${i >>> 8}.${i & 0xff}/32`);
  const ipBatch = join(dir, 'storm.ip');
  writeFileSync(
    ipBatch,
    `${routes.map((r) => `route add ${r} dev ${FOREIGN_DEV} proto static`).join('\n')}\n${routes.map((r) => `route del ${r} dev ${FOREIGN_DEV}`).join('\n')}\n`,
  );
  return { nftFile, ipBatch };
}

export interface WatchProcess {
  proc: ChildProcess;
  records: Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** `netcg watch --json` on `ns`, its records parsed as they come. */
export function startWatch(cli: string, configFile: string, ns: Netns): WatchProcess {
  const proc = spawn(process.execPath, [cli, 'watch', '-c', configFile, '--netns', ns.path, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const records: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      records.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, records, stderr: () => err, exit };
}

export async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

export interface StormRound {
  /** SIGSTOP -> SIGCONT: how long the daemon did not read (the storm's own duration). */
  stoppedMs: number;
  /** `nft -f` of the 200k-element set, and `ip -batch` of the 40k route changes. */
  nftMs: number;
  ipMs: number;
  /** netcg's table deleted right after SIGCONT -> seen whole again. */
  tableRepairMs: number;
  /** netcg's routes flushed (after the table was back) -> seen again. */
  routesRepairMs: number;
  /** `overrun` records the daemon wrote during the round (the storm must have caused one). */
  overruns: number;
  /** The daemon's process was still running at the end of the round. */
  alive: boolean;
}

/** What the probe reads through (the addon's NetlinkHandle, opened on the namespace by the caller). */
export interface StormHandle {
  nftDump(filter: { family: 'inet'; table: string }): {
    tables: unknown[];
    chains: Array<{ name: string }>;
    rules: Array<{ chain: string }>;
    sets: Array<{ name: string; elements: unknown[] }>;
  };
  routeDump(family: 4 | 6, table?: number): unknown[];
}

/** The observable shape of netcg's state: chain and set names with rule counts, and table 43's routes. */
export class StormProbe {
  readonly tableShape: string;
  readonly routeText: string;

  constructor(
    private readonly h: StormHandle,
    private readonly table: string,
  ) {
    this.tableShape = this.shape();
    this.routeText = this.routes();
    if (this.tableShape === '' || this.routeText === '[]')
      throw new Error("netcg's table or routes are missing before the storm");
  }

  shape(): string {
    const d = this.h.nftDump({ family: 'inet', table: this.table });
    if (d.tables.length === 0) return '';
    const chains = d.chains.map((c) => `${c.name}:${d.rules.filter((r) => r.chain === c.name).length}`);
    return JSON.stringify([chains.sort(), d.sets.map((s) => `${s.name}:${s.elements.length}`).sort()]);
  }

  /** Table 43's routes, read in-process (spawning `ip` twice per 10 ms poll would be measured too). */
  routes(): string {
    const all = [...this.h.routeDump(4, STORM_ROUTE_TABLE), ...this.h.routeDump(6, STORM_ROUTE_TABLE)];
    return JSON.stringify(all.map((r) => JSON.stringify(r)).sort());
  }
}

async function timeToRepair(cause: () => void, repaired: () => boolean, limitMs: number): Promise<number> {
  const t0 = performance.now();
  cause();
  for (;;) {
    if (repaired()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`not repaired within ${limitMs} ms`);
    await sleep(10);
  }
}

/** One storm; throws when a repair takes longer than `limitMs` (the caller's bound, generous). */
export async function stormRound(
  ns: Netns,
  daemon: WatchProcess,
  probe: StormProbe,
  files: { nftFile: string; ipBatch: string },
  table: string,
  limitMs = 10_000,
): Promise<StormRound> {
  const before = daemon.records.length;
  const pid = daemon.proc.pid!;
  const t0 = performance.now();
  process.kill(pid, 'SIGSTOP');
  let nftMs = 0;
  let ipMs = 0;
  try {
    const tn = performance.now();
    ns.nft('-f', files.nftFile);
    nftMs = performance.now() - tn;
    const ti = performance.now();
    ns.ip('-batch', files.ipBatch);
    ipMs = performance.now() - ti;
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const stoppedMs = performance.now() - t0;
  const tableRepairMs = await timeToRepair(
    () => ns.nft('delete', 'table', 'inet', table),
    () => probe.shape() === probe.tableShape,
    limitMs,
  );
  const t = String(STORM_ROUTE_TABLE);
  const routesRepairMs = await timeToRepair(
    () => {
      ns.ip('route', 'flush', 'table', t);
      ns.ip('-6', 'route', 'flush', 'table', t);
    },
    () => probe.routes() === probe.routeText,
    limitMs,
  );
  // Records are written after the repair they describe: give the last one a moment.
  await sleep(200);
  return {
    stoppedMs,
    nftMs,
    ipMs,
    tableRepairMs,
    routesRepairMs,
    overruns: daemon.records.slice(before).filter((r) => r.event === 'overrun').length,
    alive: daemon.proc.exitCode === null && daemon.proc.signalCode === null,
  };
}
