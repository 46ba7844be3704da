// `netcg watch` as a real daemon process (the built CLI) in a throwaway namespace:
// every trigger of issue 5 is caused from outside, and the time until the kernel
// is repaired is measured by polling the kernel every 10 ms from the moment the
// event is caused. nf_tables damage must be repaired within 1 s (the issue's
// functional bound); the other triggers get a looser bound and are recorded.
// The daemon is always killed and the namespace, config and cgroups removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { addon, openHandle } from '../../src/native/index.js';
import type { NetlinkHandle } from '../../src/native/types.js';
import { cliBuilt, NETCG_CLI } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const NFT_BOUND_MS = 1000;
const OTHER_BOUND_MS = 3000;
const RUNS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Daemon {
  proc: ChildProcess;
  records: Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startDaemon(file: string, ns: Netns, json: boolean): Daemon {
  if (!cliBuilt()) throw new Error(`${NETCG_CLI} is missing: run npm run build:ts first`);
  const proc = spawn(
    process.execPath,
    [NETCG_CLI, 'watch', '-c', file, '--netns', ns.path, ...(json ? ['--json'] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const records: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      records.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, records, stderr: () => err, exit };
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Causes the damage, then polls the kernel every 10 ms until `repaired()`; the elapsed ms. */
async function timeToRepair(cause: () => void, repaired: () => boolean, limitMs = 10_000): Promise<number> {
  const t0 = performance.now();
  cause();
  for (;;) {
    if (repaired()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`not repaired within ${limitMs} ms`);
    await sleep(10);
  }
}

let ns: Netns;
let cfg: TempConfig;
let h: NetlinkHandle;
let daemon: Daemon | undefined;
const daemons: Daemon[] = [];
const measured: Record<string, number[]> = {};

function record(name: string, ms: number): void {
  (measured[name] ??= []).push(Math.round(ms));
}

const config = (extra = '') => `profiles:
  unlocator:
    classid: 0x10042
    dns: { redirect: 5354 }
    ipv6: reject
  vpn:
    classid: 0x10043
    route: { via: tun0, table: 43, copyLinkRoutes: true, masquerade: true }
  v2p:
    match: cgroupv2
    ipv6: reject
${extra}`;

/**
 * netcg's table as the kernel has it (the addon's dump, in-process: `nft list`
 * would resolve every cgroupv2 element by walking the host's cgroup tree, which
 * takes seconds on a busy host and would be measured instead of the repair),
 * without kernel handles and counter values. '' when the table is absent.
 */
const tableText = () => {
  const dump = h.nftDump({ family: 'inet', table: cfg.table });
  if (dump.tables.length === 0) return '';
  const text = (v: unknown) =>
    JSON.stringify(v, (key, value: unknown) => {
      if (key === 'handle' || key === 'use' || key === 'position') return undefined;
      if ((key === 'packets' || key === 'bytes') && typeof value === 'number') return 0;
      return value;
    });
  // Creation order differs between an incremental apply and a re-creation: compare as sets
  // (rules keep their order within a chain).
  const byName = <T extends { name: string }>(xs: T[]) =>
    [...xs].sort((a, b) => a.name.localeCompare(b.name));
  return text({
    chains: byName(dump.chains).map((c) => ({ ...c, rules: dump.rules.filter((r) => r.chain === c.name) })),
    sets: byName(dump.sets).map((m) => ({ ...m, elements: m.elements.map(text).sort() })),
  });
};
const chainNames = () => h.nftDump({ family: 'inet', table: cfg.table }).chains.map((c) => c.name);
const routes43 = () => ns.ip('route', 'show', 'table', '43');

function addTun0(): void {
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('link', 'set', 'tun0p', 'up');
  ns.ip('link', 'set', 'tun0', 'up');
}

let goodTable = '';

beforeAll(async () => {
  ns = createNetns('ncwatch');
  addTun0();
  ns.ip('link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0p');
  ns.ip('link', 'set', 'lan0p', 'up');
  ns.ip('link', 'set', 'lan0', 'up');
  ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'lan0');
  cfg = tempConfig(config(), 'ncw');
  h = openHandle(ns.path);
  daemon = startDaemon(cfg.file, ns, true);
  daemons.push(daemon);
  // The daemon's start (node, the CLI, a full read and apply) is seconds on a loaded machine.
  const applied = await until(
    'the initial apply',
    () => daemon!.records.find((r) => r.event === 'apply'),
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; daemon stderr: ${daemon!.stderr()}`);
  });
  expect(applied).toMatchObject({ reason: 'start', changed: true });
  goodTable = tableText();
  expect(chainNames()).toContain('route_vpn');
});

afterAll(async () => {
  for (const d of daemons) if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
  await Promise.all(daemons.map((d) => d.exit));
  h?.close();
  ns?.remove();
  cfg?.remove();
  const lines = Object.entries(measured).map(
    ([k, v]) => `  ${k}: median ${median(v)} ms (runs: ${v.join(', ')})`,
  );
  // The daemon's own view of the same repairs: the apply alone, and from the first event to the end.
  const repairs = daemons.flatMap((d) => d.records.filter((r) => r.event === 'repair'));
  if (repairs.length > 0) {
    lines.push(
      `  daemon-reported, ${repairs.length} repairs: apply median ${median(repairs.map((r) => r.ms as number))} ms, first event -> repaired median ${median(repairs.map((r) => r.sinceEventMs as number))} ms`,
    );
  }
  console.log(
    `netcg watch, time to repair (cause -> repaired state seen, 10 ms polling):\n${lines.join('\n')}`,
  );
});

describe('netcg watch repairs', () => {
  it("netcg's table after `nft flush ruleset`, within 1 s", async () => {
    for (let i = 0; i < RUNS; i++) {
      const ms = await timeToRepair(
        () => ns.nft('flush', 'ruleset'),
        () => tableText() === goodTable,
      );
      record('nft flush ruleset', ms);
      expect(ms).toBeLessThan(NFT_BOUND_MS);
    }
    const repair = daemon!.records.find((r) => r.event === 'repair');
    expect(repair).toMatchObject({
      trigger: expect.arrayContaining([`nft deltable in inet ${cfg.table}`]),
      summary: { change: 0, destroy: 0 },
    });
  });

  it("netcg's table deleted, within 1 s", async () => {
    for (let i = 0; i < RUNS; i++) {
      const ms = await timeToRepair(
        () => ns.nft('delete', 'table', 'inet', cfg.table),
        () => tableText() === goodTable,
      );
      record('table deleted', ms);
      expect(ms).toBeLessThan(NFT_BOUND_MS);
    }
  });

  it("one of netcg's rules deleted, within 1 s", async () => {
    for (let i = 0; i < RUNS; i++) {
      const rules = h
        .nftDump({ family: 'inet', table: cfg.table })
        .rules.filter((r) => r.chain === 'route_vpn');
      expect(rules).toHaveLength(1);
      const handle = String(rules[0]!.handle);
      const ms = await timeToRepair(
        () => ns.nft('delete', 'rule', 'inet', cfg.table, 'route_vpn', 'handle', handle),
        () => tableText() === goodTable,
      );
      record('one rule deleted', ms);
      expect(ms).toBeLessThan(NFT_BOUND_MS);
    }
    expect(
      daemon!.records.some(
        (r) =>
          r.event === 'repair' &&
          (r.trigger as string[]).includes(`nft delrule route_vpn in inet ${cfg.table}`),
      ),
    ).toBe(true);
  });

  it('a burst of edits is coalesced into one repair', async () => {
    await sleep(200); // the previous test's last record may still be on its way
    const before = daemon!.records.length;
    const rules = h.nftDump({ family: 'inet', table: cfg.table }).rules;
    const victims = ['nat_output', 'route_output', 'filter_output', 'dns_unlocator', 'ipv6_unlocator'].map(
      (chain) => rules.find((r) => r.chain === chain)!,
    );
    const ms = await timeToRepair(
      () => {
        // Five separate transactions, back to back, as a firewall script would send them.
        for (const r of victims)
          h.nftCommit([
            {
              verb: 'delete',
              object: 'rule',
              family: 'inet',
              table: cfg.table,
              chain: r.chain,
              handle: r.handle,
            },
          ]);
      },
      () => tableText() === goodTable,
    );
    record('burst of 5 rule deletions', ms);
    expect(ms).toBeLessThan(NFT_BOUND_MS);
    await sleep(200);
    // Five transactions, fewer repairs (one, unless this process was descheduled for longer
    // than the debounce between two of them), each deletion named once.
    const wanted = victims.map((r) => `nft delrule ${r.chain} in inet ${cfg.table}`);
    const repairs = daemon!.records
      .slice(before)
      .filter((r) => r.event === 'repair' && (r.trigger as string[]).some((t) => wanted.includes(t)));
    expect(repairs.length).toBeGreaterThanOrEqual(1);
    expect(repairs.length).toBeLessThan(victims.length);
    // A deletion that reached the kernel before a repair read it is repaired by that repair
    // even when its event is read only afterwards; the check that event then starts finds
    // nothing to do and logs nothing (seen under the sanitized suite, where this process
    // sends the five transactions slower). So: no deletion named twice, none invented, in order.
    const named = repairs.flatMap((r) => r.trigger as string[]).filter((t) => t.startsWith('nft delrule'));
    expect(named.length).toBeGreaterThanOrEqual(1);
    expect(named).toEqual(wanted.filter((w) => named.includes(w)));
  });

  it('the via interface deleted and re-created: the fail-closed route stays, the routes come back', async () => {
    const good = routes43();
    expect(good).toMatch(/^default dev tun0 proto 110/m);
    for (let i = 0; i < RUNS; i++) {
      ns.ip('link', 'del', 'tun0');
      await until("the kernel to drop tun0's routes", () => !routes43().includes('dev tun0'));
      // While tun0 is gone members hit the unreachable route, never main.
      expect(routes43()).toMatch(/^unreachable default proto 110 metric 4294967295/m);
      await sleep(100);
      const ms = await timeToRepair(addTun0, () => routes43() === good);
      record('via deleted and re-created (from re-creation)', ms);
      expect(ms).toBeLessThan(OTHER_BOUND_MS);
    }
    expect(ns.ip('-6', 'route', 'show', 'table', '43')).toMatch(/^default dev tun0 proto 110/m);
  });

  it('the via interface down and up: the routes come back', async () => {
    const good = routes43();
    for (let i = 0; i < RUNS; i++) {
      ns.ip('link', 'set', 'tun0', 'down');
      await until("the kernel to drop tun0's IPv4 route", () => !routes43().includes('dev tun0'));
      await sleep(100);
      const ms = await timeToRepair(
        () => ns.ip('link', 'set', 'tun0', 'up'),
        () => routes43() === good,
      );
      record('via down and up (from up)', ms);
      expect(ms).toBeLessThan(OTHER_BOUND_MS);
    }
  });

  it('while the via interface is missing, a flushed table is still repaired within 1 s (only its routes wait)', async () => {
    const good = routes43();
    ns.ip('link', 'del', 'tun0');
    try {
      await until('the waiting record', () =>
        daemon!.records.find((r) => r.event === 'waiting' && (r.devices as string[]).includes('tun0')),
      );
      for (let i = 0; i < RUNS; i++) {
        const ms = await timeToRepair(
          () => ns.nft('flush', 'ruleset'),
          () => tableText() === goodTable,
        );
        record('nft flush ruleset while via is missing', ms);
        expect(ms).toBeLessThan(NFT_BOUND_MS);
      }
      // The kill switch held meanwhile: the fail-closed route and the ip rule are there.
      expect(routes43()).toMatch(/^unreachable default proto 110 metric 4294967295/m);
      expect(ns.ip('rule')).toMatch(/fwmark 0x10043 lookup 43 proto 110/);
    } finally {
      addTun0();
    }
    await until('the routes back', () => routes43() === good);
    await until('the all-back record', () =>
      daemon!.records.find((r) => r.event === 'waiting' && (r.devices as string[]).length === 0),
    );
  });

  it("link-route copies follow the host's addresses", async () => {
    for (let i = 0; i < RUNS; i++) {
      const added = await timeToRepair(
        () => ns.ip('addr', 'add', '198.18.9.1/24', 'dev', 'lan0'),
        () => routes43().includes('198.18.9.0/24 dev lan0 proto 110'),
      );
      record('address added (copy appears)', added);
      expect(added).toBeLessThan(OTHER_BOUND_MS);
      const removed = await timeToRepair(
        () => ns.ip('addr', 'del', '198.18.9.1/24', 'dev', 'lan0'),
        () => !routes43().includes('198.18.9.0/24'),
      );
      record('address removed (copy goes)', removed);
      expect(removed).toBeLessThan(OTHER_BOUND_MS);
    }
  });

  it("a cgroup v2 profile's cgroup re-created: the new ID is in the map", async () => {
    const root = findCgroup2();
    expect(root).toBeDefined();
    const dir = join(root!, cfg.cgroupParent, 'v2p');
    const mapIds = () =>
      h
        .nftDump({ family: 'inet', table: cfg.table })
        .sets.find((s) => s.name === 'ipv6_dispatch_v2')
        ?.elements.map((e) => e.key.readBigUInt64LE(0)) ?? [];
    expect(mapIds()).toEqual([addon.cgroupId(dir)]);
    for (let i = 0; i < RUNS; i++) {
      const before = addon.cgroupId(dir);
      const ms = await timeToRepair(
        () => {
          rmdirSync(dir);
          try {
            mkdirSync(dir);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // the daemon was faster
          }
        },
        () => {
          if (!existsSync(dir)) return false;
          const id = addon.cgroupId(dir);
          const ids = mapIds();
          return id !== before && ids.length === 1 && ids[0] === id;
        },
      ).catch((e: Error) => {
        throw new Error(
          `${e.message}; map ${mapIds().join(',')}, dir ${existsSync(dir) ? addon.cgroupId(dir) : 'missing'}; records: ${JSON.stringify(daemon!.records.slice(-1))} stderr ${daemon!.stderr()}`,
        );
      });
      record('cgroup v2 re-created', ms);
      expect(ms).toBeLessThan(OTHER_BOUND_MS);
    }
  });
});

describe('netcg watch signals', () => {
  it('SIGHUP with a changed config applies it (a new profile appears)', async () => {
    writeFileSync(
      cfg.file,
      `table: ${cfg.table}\ncgroupParent: ${cfg.cgroupParent}\n${config('  added:\n    classid: 0x10099\n    ipv6: reject\n')}`,
    );
    const ms = await timeToRepair(
      () => daemon!.proc.kill('SIGHUP'),
      () => chainNames().includes('ipv6_added'),
    );
    record('SIGHUP, new profile', ms);
    const applied = await until('the reload record', () =>
      daemon!.records.find((r) => r.event === 'apply' && r.reason === 'reload'),
    );
    expect(applied).toMatchObject({
      changed: true,
      changes: expect.arrayContaining([{ action: '+', kind: 'chain', id: 'ipv6_added' }]),
    });
    goodTable = tableText();
  });

  it('SIGHUP with a broken config logs file:line:key and keeps the running config', async () => {
    const before = tableText();
    writeFileSync(
      cfg.file,
      `table: ${cfg.table}\ncgroupParent: ${cfg.cgroupParent}\nprofiles:\n  added:\n    classid: 0x10099\n    ipv6: rejectt\n`,
    );
    daemon!.proc.kill('SIGHUP');
    const error = await until('the config-error record', () =>
      daemon!.records.find((r) => r.event === 'config-error'),
    );
    expect(error).toMatchObject({
      file: cfg.file,
      issues: [expect.objectContaining({ file: cfg.file, line: 6, path: 'profiles.added.ipv6' })],
    });
    await sleep(200);
    expect(tableText()).toBe(before);
    // Still watching, with the old config.
    const ms = await timeToRepair(
      () => ns.nft('flush', 'ruleset'),
      () => tableText() === before,
    );
    record('nft flush ruleset after a broken reload', ms);
    expect(ms).toBeLessThan(NFT_BOUND_MS);
    expect(daemon!.proc.exitCode).toBeNull();
  });

  it('SIGTERM exits 0 and leaves the namespace lock free; text log has one line per repair', async () => {
    daemon!.proc.kill('SIGTERM');
    expect(await daemon!.exit).toBe(0);
    expect(daemon!.records.at(-1)).toMatchObject({ event: 'stop', signal: 'SIGTERM' });

    // The same daemon in text mode: a repair is one line on stderr.
    writeFileSync(cfg.file, `table: ${cfg.table}\ncgroupParent: ${cfg.cgroupParent}\n${config()}`);
    const text = startDaemon(cfg.file, ns, false);
    daemons.push(text);
    await until(
      'the start line',
      () =>
        text.stderr().includes('netcg watch: at start') ||
        text.stderr().includes('netcg watch: applied at start'),
    );
    ns.nft('delete', 'table', 'inet', cfg.table);
    // Other triggers may share the line (a link-local address finishing DAD in the same burst).
    await until(
      'the repair line',
      () =>
        /^netcg watch: repaired in \d+ ms \(\d+ ms after the first event\) after (.*, )?nft deltable in inet [^\s,:]+(, [^\n]*?)?: \d+ added, 0 changed, 0 destroyed: \+table inet /m.test(
          text.stderr(),
        ),
      5000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; stderr:\n${text.stderr()}`);
    });
    text.proc.kill('SIGINT');
    expect(await text.exit).toBe(0);
    expect(text.stderr()).toMatch(/netcg watch: stopping on SIGINT\n$/);

    // No one holds the namespace's lock any more.
    const st = statSync(ns.path);
    const fd = openSync(`/run/netcg/netns-${st.dev}-${st.ino}.lock`, 'a');
    try {
      expect(addon.flock(fd, true, false)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });
});
