// Issue 5, "Interrupted apply": `netcg apply` (the CLI, --netns) is SIGKILLed at a
// random moment while it moves a namespace between two different 1,000-profile
// configs A and B (different profiles, features, ip rule priority and routing
// table, so nf_tables, ip rules, routes and cgroups all change). After every kill:
//   - the lock is free at once (flock dies with its holder: no ELOCKED, no wait);
//   - `diff` can read the state (it is the old state, the new one, or in between);
//   - ONE apply repairs it, and the next diff is empty;
//   - no proto-110 rule or route points at a table the config does not use.
// At the end `down` leaves no table, rule, route or profile cgroup.
//
// Scale: the issue suggests 200 trials. On the 2-CPU machine one trial costs a CLI
// start plus a kill, a diff, an apply and a diff of 1,000 profiles (~3 s), so the suite
// runs NETCG_KILL_TRIALS (default 30) and the full 200 are run by hand:
//   NETCG_KILL_TRIALS=200 npx vitest run test/kernel/interrupted-apply.test.ts
// Where the kill lands alternates between two methods:
//   - odd trials: after a delay uniform in [0, T], T being one uninterrupted CLI apply
//     (most of these land in start-up, reading and planning: the commit is near the end);
//   - even trials: on entry to the K-th kernel-effect syscall (sendto/sendmsg to
//     netlink, mkdir/rmdir of cgroups), K uniform over the count an uninterrupted
//     apply in that direction makes, via strace's `inject=...:signal=KILL`. These hit
//     the cgroup phase, the dumps, the nf_tables commit and every rtnetlink op.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff, down } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/schema.js';
import { removeCgroupParent } from '../testbed/cgroups.js';
import { lockNamespace } from '../../src/apply/lock.js';
import { isEmptyPlan, summarize } from '../../src/plan/plan.js';
import { NETCG_CLI, cliOk, runCli } from '../helpers/cli.js';
import { uniqueName, type Netns } from '../helpers/netns.js';
import { VIA, cgroupParentDirs, createQuietNetns } from '../helpers/quiet-netns.js';

const TRIALS = Number(process.env.NETCG_KILL_TRIALS ?? 30);
const PROFILES = 1000;
let seed = Number(process.env.NETCG_KILL_SEED ?? Date.now() % 2 ** 31);

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with NETCG_KILL_SEED. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const table = uniqueName('ncka');
const cgroupParent = uniqueName('nckacg');

function configA(): string {
  const lines = [`table: ${table}`, `cgroupParent: ${cgroupParent}`, 'ipRulePriority: 10000', 'profiles:'];
  for (let i = 0; i < PROFILES; i++) {
    lines.push(`  a${i}:`, `    classid: ${1000 + i}`);
    if (i % 3 === 0) lines.push(`    dns: { redirect: ${5000 + (i % 50)} }`);
    else if (i % 3 === 1) lines.push('    ipv6: reject');
    else lines.push(`    route: { via: ${VIA} }`); // derived: mark and table 1002
  }
  return `${lines.join('\n')}\n`;
}

function configB(): string {
  const lines = [`table: ${table}`, `cgroupParent: ${cgroupParent}`, 'ipRulePriority: 12000', 'profiles:'];
  for (let i = PROFILES / 2; i < PROFILES; i++) {
    lines.push(`  a${i}:`, `    classid: ${1000 + i}`);
    if (i % 3 === 0) lines.push('    ipv6: reject');
    else if (i % 3 === 1)
      lines.push(`    route: { via: ${VIA}, table: 4242, mark: 4242, copyLinkRoutes: false }`);
    else lines.push(`    dns: { redirect: ${6000 + (i % 50)} }`);
  }
  for (let i = 0; i < PROFILES / 2; i++) {
    lines.push(`  b${i}:`, `    classid: ${5000 + i}`);
    if (i % 2 === 0) lines.push(`    dns: { redirect: ${7000 + (i % 50)} }`, '    ipv6: reject');
    else lines.push(`    route: { via: ${VIA}, table: 4242, mark: 4242, copyLinkRoutes: false }`);
  }
  return `${lines.join('\n')}\n`;
}

let ns: Netns;
let dir: string;
let backend: NetlinkBackend;
let files: [string, string];
let configs: [Config, Config];

beforeAll(() => {
  ns = createQuietNetns('ncka');
  dir = mkdtempSync(join(tmpdir(), 'netcg-kill-'));
  files = [join(dir, 'a.yaml'), join(dir, 'b.yaml')];
  writeFileSync(files[0], configA());
  writeFileSync(files[1], configB());
  configs = [loadConfig(files[0]), loadConfig(files[1])];
  backend = new NetlinkBackend(ns.path);
});

afterAll(() => {
  backend?.close();
  ns?.remove();
  removeCgroupParent(cgroupParent);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The syscalls by which apply changes the kernel or reads it back. */
const EFFECTS = 'sendto,sendmsg,mkdir,rmdir';

/** The EFFECTS syscalls, in order, of one uninterrupted CLI apply of `file` (it runs the apply). */
function traceEffects(file: string): string[] {
  const out = join(dir, `count-${Date.now()}.strace`);
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      out,
      '-e',
      `trace=${EFFECTS}`,
      process.execPath,
      NETCG_CLI,
      'apply',
      '-c',
      file,
      '--netns',
      ns.path,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`traced apply failed: ${r.stderr}`);
  return readFileSync(out, 'utf8')
    .split('\n')
    .flatMap((l) => /\b(sendto|sendmsg|mkdir|rmdir)\(/.exec(l)?.[1] ?? []);
}

/** strace counts `when=` per syscall: the i-th effect call as "name:when=N". */
function injectionPoint(calls: string[], i: number): string {
  const name = calls[i]!;
  return `${name}:signal=KILL:when=${calls.slice(0, i + 1).filter((c) => c === name).length}`;
}

/**
 * Runs `netcg apply` and SIGKILLs it: after delayMs, or (with atCall) on entry to its
 * effect syscall atCall names (see injectionPoint). It may finish first. Resolves once it is gone.
 */
function applyKilledAfter(
  file: string,
  delayMs: number,
  atCall?: string,
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = [NETCG_CLI, 'apply', '-c', file, '--netns', ns.path];
    // strace ends with the tracee's fate: killed by SIGKILL, it kills itself with SIGKILL.
    const child =
      atCall === undefined
        ? spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn(
            'strace',
            [
              '-f',
              '-qq',
              '-o',
              '/dev/null',
              '-e',
              `trace=${EFFECTS}`,
              '-e',
              `inject=${atCall}`,
              process.execPath,
              ...argv,
            ],
            { stdio: ['ignore', 'ignore', 'pipe'] },
          );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = atCall === undefined ? setTimeout(() => child.kill('SIGKILL'), delayMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code, stderr });
    });
  });
}

/** Routing tables netcg's proto-110 rules and routes use, from `ip` itself. */
function netcgTables(): { rules: Set<string>; routes: Set<string> } {
  const rules = new Set<string>();
  const routes = new Set<string>();
  for (const fam of ['-4', '-6']) {
    for (const l of ns.ip(fam, 'rule', 'show').split('\n'))
      if (/\bproto 110\b/.test(l)) rules.add(/lookup (\S+)/.exec(l)?.[1] ?? '?');
    for (const l of ns.ip(fam, 'route', 'show', 'table', 'all').split('\n'))
      if (/\bproto 110\b/.test(l)) routes.add(/\btable (\S+)/.exec(l)?.[1] ?? 'main');
  }
  return { rules, routes };
}

function configTables(c: Config): Set<string> {
  return new Set(Object.values(c.profiles).flatMap((p) => (p.route ? [String(p.route.table)] : [])));
}

describe(`SIGKILLed applies between two ${PROFILES}-profile configs (${TRIALS} trials)`, () => {
  it(
    'after every kill: the lock is free, diff reads the state, one apply repairs it, and nothing points at a table the config lacks',
    async () => {
      // T: one uninterrupted A -> B through the CLI (A first, so the measured run changes everything).
      cliOk(['apply', '-c', files[0], '--netns', ns.path], { timeoutMs: 120_000 });
      const t0 = Date.now();
      cliOk(['apply', '-c', files[1], '--netns', ns.path], { timeoutMs: 120_000 });
      const typicalMs = Date.now() - t0;
      // Effect syscalls per direction (each count is itself a full apply: B -> A, then A -> B, ending at B).
      const effects = [traceEffects(files[0]), traceEffects(files[1])];
      const startSeed = seed;
      const outcomes = { old: 0, new: 0, partial: 0, finished: 0 };

      for (let trial = 0; trial < TRIALS; trial++) {
        const target = trial % 2 === 0 ? 0 : 1; // the namespace holds B after the measurement: go to A, then B, ...
        const config = configs[target];
        const other = configs[1 - target]!;
        const bySyscall = trial % 2 === 0;
        const delay = Math.floor(random() * typicalMs);
        const calls = effects[target]!;
        // Half of these among the netlink sends only (43 of ~1,040 calls), or the 1,000 cgroup mkdir/rmdir would swamp them.
        const sends = calls.flatMap((c, i) => (c.startsWith('send') ? [i] : []));
        const atCall = injectionPoint(
          calls,
          trial % 4 === 0 ? sends[Math.floor(random() * sends.length)]! : Math.floor(random() * calls.length),
        );
        const how = bySyscall
          ? `on ${atCall} (${calls.length} effect syscalls)`
          : `after ${delay} of ${typicalMs} ms`;
        const where = `trial ${trial} (seed ${startSeed}, kill ${how}, towards ${target === 0 ? 'A' : 'B'})`;
        const run = await applyKilledAfter(
          files[target],
          bySyscall ? 0 : delay,
          bySyscall ? atCall : undefined,
        );
        if (!run.killed) expect(run.code, `${where}: ${run.stderr}`).toBe(0);

        // The flock died with the killed process: taking it without waiting must succeed.
        const release = lockNamespace(ns.path, { timeoutMs: 0 });
        release();

        // diff can read whatever the kill left; classify it.
        const seen = diff(config, backend).plan;
        const backToOld = diff(other, backend).plan;
        if (!run.killed) outcomes.finished++;
        else if (isEmptyPlan(seen)) outcomes.new++;
        else if (isEmptyPlan(backToOld)) outcomes.old++;
        else outcomes.partial++;

        // One apply completes it, and then there is nothing left to do.
        const report = apply(config, backend);
        expect(report.attempts, where).toBeGreaterThanOrEqual(1);
        const after = diff(config, backend).plan;
        expect(
          isEmptyPlan(after),
          `${where}: still to do after one apply: ${JSON.stringify(summarize(after))}`,
        ).toBe(true);

        // netcg's rules and routes point only at the config's tables.
        const want = configTables(config);
        const { rules, routes } = netcgTables();
        expect(
          [...rules].filter((t) => !want.has(t)),
          `${where}: rules`,
        ).toEqual([]);
        expect(
          [...routes].filter((t) => !want.has(t)),
          `${where}: routes`,
        ).toEqual([]);
      }
      // The CLI agrees with the library on the final state.
      expect(runCli(['diff', '-c', files[(TRIALS - 1) % 2 === 0 ? 0 : 1], '--netns', ns.path]).code).toBe(0);
      console.log(
        `interrupted apply: ${TRIALS} trials, T = ${typicalMs} ms, effect syscalls A ${effects[0]!.length} / B ${effects[1]!.length}, seed ${startSeed}:`,
        outcomes,
      );
      // Most kills must land before the end, and some between the first and the last change, or the test proves little.
      expect(outcomes.old + outcomes.new + outcomes.partial).toBeGreaterThan(TRIALS / 2);
      if (TRIALS >= 20) expect(outcomes.partial + outcomes.new).toBeGreaterThan(0);
    },
    60_000 + TRIALS * 10_000,
  );

  it('a final down leaves no table, no proto-110 rule or route and no profile cgroup', async () => {
    // Kill one more apply midway, then down straight away: down must cope with a half state too.
    await applyKilledAfter(files[0], 700);
    down(configs[0], backend);
    expect(ns.nft('list', 'tables')).not.toContain(table);
    const { rules, routes } = netcgTables();
    expect([...rules, ...routes]).toEqual([]);
    const stray = cgroupParentDirs(cgroupParent).flatMap((d) =>
      readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(d, e.name)),
    );
    expect(stray).toEqual([]);
  }, 60_000);
});
