#!/usr/bin/env node
// netcg's benchmark suite, one command: `node bench/run.mjs` (npm run bench).
// For N = 1, 100, 1,000, 10,000 profiles it measures, side by side and each time in
// a fresh throwaway network namespace (never the host's):
//   1. a fresh apply through the netlink backend (in-process, in a child node
//      process per measurement so its peak RSS belongs to one N);
//   2. the same ruleset through `nft -f` + `ip -batch` (spawned, end to end);
//   3. the recipe's one iptables/ip6tables/ip process per rule (N ≤ 1,000);
//   4. a no-op re-apply and 5. adding one profile (in the child of 1);
//   6. peak RSS (child of 1);
//   7. packets/s of a member process with few and many profiles installed.
// Prints a table and writes results.csv, chart.svg and results.md (docs/bench/).
// Everything it creates is removed in finally blocks and on SIGINT/SIGTERM.
//
// Options: --sizes 1,100,1000,10000   --out docs/bench
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { removeCgroupParent } from '../build-testbed/testbed/cgroups.js';
import { cleanupAll, cleanupOnSignals, track } from './cleanup.mjs';
import { timeChart } from './chart.mjs';
import { buildSender, PACKETS, packetsPerSecond } from './packets.mjs';
import {
  csv,
  mainTable,
  markdown,
  median,
  packetTable,
  phaseTable,
  reconcilerTable,
  targets,
  textTable,
} from './report.mjs';
import { benchConfig, classidOf, createBenchNetns, profileName, TABLE } from './scenario.mjs';
import { nftAndIpBatch, recipe } from './spawned.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const RECIPE_MAX = 1000;
const repsFor = (n) => (n <= 100 ? 5 : 3);
const recipeRepsFor = (n) => (n <= 1 ? 5 : n <= 100 ? 3 : 1);
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,100,1000,10000' },
    out: { type: 'string', default: join(root, 'docs', 'bench') },
  },
});
const sizes = opts.sizes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1))
  throw new Error(`--sizes: expected positive integers, got ${opts.sizes}`);

function preflight() {
  if (process.getuid?.() !== 0)
    throw new Error('the bench needs root (network namespaces, nf_tables, cgroups)');
  try {
    readFileSync(join(root, 'dist', 'backends', 'netlink.js'));
  } catch {
    throw new Error('dist/ is missing: run `npm run build:ts` (or `bash scripts/setup.sh`) first');
  }
  try {
    execFileSync('iptables', ['--version'], { stdio: 'ignore' });
  } catch {
    // The recipe column needs iptables (on Debian: iptables-nft, so it works in a namespace without legacy modules).
    log('installing the Debian package iptables for the recipe column');
    const apt = (...args) =>
      execFileSync('apt-get', args, {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    try {
      apt('install', '-y', '-qq', '--no-install-recommends', 'iptables');
    } catch {
      apt('update', '-qq'); // the package lists may be missing or stale
      apt('install', '-y', '-qq', '--no-install-recommends', 'iptables');
    }
  }
}

/** Runs the netlink worker in a child node process; resolves with its JSON line. */
function netlinkWorker(n, ns, ns2, cgroupParent) {
  return new Promise((resolve, reject) => {
    const args = [join(here, 'netlink-worker.mjs'), ns.path, String(n), ns2.path, cgroupParent];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const untrack = track(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      untrack();
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`netlink worker (N=${n}) failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
    });
  });
}

async function withFreshNetns(fn) {
  const ns = createBenchNetns(track);
  try {
    return await fn(ns);
  } finally {
    ns.remove();
  }
}

const rows = [];
const add = (n, method, measure, samples, unit, extra = {}) =>
  rows.push({ n, method, measure, value: median(samples), unit, samples, ...extra });

async function measureNetlink(n) {
  const runs = [];
  for (let rep = 0; rep < repsFor(n); rep++) {
    // A unique cgroup parent for the library apply()'s N profile cgroups, removed whatever happens.
    const cgroupParent = `netcg-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
    const untrack = track(() => removeCgroupParent(cgroupParent));
    try {
      runs.push(
        await withFreshNetns((ns) => withFreshNetns((ns2) => netlinkWorker(n, ns, ns2, cgroupParent))),
      );
    } finally {
      const leftovers = removeCgroupParent(cgroupParent);
      untrack();
      // biome-ignore lint/correctness/noUnsafeFinally: a leaked cgroup must stop the bench even when the run failed
      if (leftovers.length > 0) throw new Error(`bench: could not remove cgroups: ${leftovers.join('; ')}`);
    }
  }
  const pick = (k) => runs.map((r) => r[k]);
  add(n, 'netlink', 'fresh_netlink_ms', pick('freshMs'), 'ms');
  add(
    n,
    'netlink',
    'noop_reapply_ms',
    runs.flatMap((r) => r.noopRunsMs),
    'ms',
  );
  add(n, 'netlink', 'add_one_ms', pick('addOneMs'), 'ms');
  add(
    n,
    'netlink',
    'add_one_nft_ops',
    runs.map((r) => r.addOneOps.nft),
    'messages',
  );
  add(
    n,
    'netlink',
    'rss_apply_mib',
    runs.map((r) => r.applyRssKiB / 1024),
    'MiB',
  );
  add(
    n,
    'netlink',
    'rss_worker_mib',
    runs.map((r) => r.endRssKiB / 1024),
    'MiB',
  );
  add(n, 'netlink', 'config_parse_ms', pick('parseMs'), 'ms');
  add(n, 'library', 'lib_apply_ms', pick('libApplyMs'), 'ms');
  add(n, 'library', 'lib_reapply_ms', pick('libReapplyMs'), 'ms');
  add(
    n,
    'reconciler',
    'rec_noop_diff_ms',
    runs.flatMap((r) => r.recNoopDiffMs),
    'ms',
  );
  add(
    n,
    'reconciler',
    'rec_noop_apply_ms',
    runs.flatMap((r) => r.recNoopApplyMs),
    'ms',
  );
  add(n, 'reconciler', 'rec_add_one_ms', pick('recAddOneMs'), 'ms');
  add(n, 'reconciler', 'rec_add_one_diff_ms', pick('recAddOneDiffMs'), 'ms');
  add(n, 'reconciler', 'rec_add_one_send_ms', pick('recAddOneSendMs'), 'ms');
  add(n, 'reconciler', 'rec_add_one_nft_ops', pick('recAddOneOps'), 'messages');
  add(n, 'reconciler', 'rec_add_one_apply_ms', pick('recAddOneApplyMs'), 'ms');
  for (const [phase, key] of [
    ['compile', 'compileMs'],
    ['read', 'readMs'],
    ['plan', 'planMs'],
    ['send', 'sendMs'],
  ]) {
    add(
      n,
      'netlink',
      `fresh_${phase}_ms`,
      runs.map((r) => r.freshPhases[key]),
      'ms',
    );
  }
  for (const [phase, key] of [
    ['compile', 'compileMs'],
    ['read', 'readMs'],
    ['plan', 'planMs'],
  ]) {
    add(
      n,
      'netlink',
      `noop_${phase}_ms`,
      runs.flatMap((r) => r.noopPhases.map((x) => x[key])),
      'ms',
    );
  }
  for (const [phase, key] of [
    ['compile', 'compileMs'],
    ['read', 'readMs'],
    ['plan', 'planMs'],
    ['send', 'sendMs'],
  ]) {
    add(
      n,
      'netlink',
      `add_one_${phase}_ms`,
      runs.map((r) => r.addOnePhases[key]),
      'ms',
    );
  }
  const r = runs[0];
  log(
    `N=${n}: netlink apply ${median(pick('freshMs')).toFixed(1)} ms (${r.rules} nft rules, ${r.ipRules} ip rules, ${r.routes} routes), re-apply ${median(runs.flatMap((x) => x.noopRunsMs)).toFixed(1)} ms, add one ${median(pick('addOneMs')).toFixed(1)} ms; library apply() with ${n} cgroups ${median(pick('libApplyMs')).toFixed(1)} ms, again ${median(pick('libReapplyMs')).toFixed(1)} ms; Reconciler no-op diff ${median(runs.flatMap((x) => x.recNoopDiffMs)).toFixed(1)} ms, apply ${median(runs.flatMap((x) => x.recNoopApplyMs)).toFixed(1)} ms, add one ${median(pick('recAddOneMs')).toFixed(1)} ms, apply ${median(pick('recAddOneApplyMs')).toFixed(1)} ms`,
  );
}

/** nft -f + ip -batch; keeps the last namespace (for the per-packet runs) when `keep` is true. */
async function measureNftIp(n, facts, keep) {
  const desired = (await import('../dist/compile/index.js')).compile(benchConfig(n), facts);
  const samples = [];
  let kept;
  for (let rep = 0; rep < repsFor(n); rep++) {
    const ns = createBenchNetns(track);
    try {
      samples.push(nftAndIpBatch(ns, desired).ms);
    } finally {
      if (keep && rep === repsFor(n) - 1) kept = ns;
      else ns.remove();
    }
  }
  add(n, 'nft+ip', 'fresh_nft_ip_ms', samples, 'ms');
  log(`N=${n}: nft -f + ip -batch ${median(samples).toFixed(1)} ms`);
  return kept;
}

async function measureRecipe(n, keep) {
  const samples = [];
  let kept;
  for (let rep = 0; rep < recipeRepsFor(n); rep++) {
    const ns = createBenchNetns(track);
    try {
      samples.push((await recipe(ns, n)).ms);
    } finally {
      if (keep && rep === recipeRepsFor(n) - 1) kept = ns;
      else ns.remove();
    }
  }
  add(n, 'recipe', 'fresh_recipe_ms', samples, 'ms');
  log(`N=${n}: recipe (${7 * n} processes) ${median(samples).toFixed(0)} ms`);
  return kept;
}

/** Counter of the member's profile chain: proves its packets really went through the profile. */
function memberPackets(ns, method, n) {
  const text =
    method === 'netcg'
      ? ns.nft('list', 'chain', 'inet', TABLE, `route_${profileName(n - 1)}`)
      : (ns
          .run('iptables', ['-t', 'mangle', '-L', 'OUTPUT', '-v', '-x', '-n'])
          .split('\n')
          .find((l) => l.includes(`cgroup ${classidOf(n - 1)}`)) ?? '');
  const m = method === 'netcg' ? /packets (\d+)/.exec(text) : /^\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

async function measurePackets(kept, sender) {
  const compare = (method, small, large) => {
    if (!small || !large) return;
    const targetsPps = [small, large].map(({ n, ns }) => ({ ns, classid: classidOf(n - 1) }));
    const [a, b] = packetsPerSecond(targetsPps, sender, track);
    [
      [small, a],
      [large, b],
    ].forEach(([{ n, ns }, r]) => {
      const seen = memberPackets(ns, method, n);
      if (seen < PACKETS)
        throw new Error(
          `bench: the ${method} member at N=${n} was not matched by its profile (${seen} packets counted)`,
        );
      add(n, method, 'pps', r.runs, 'packets/s', { classid: classidOf(n - 1) });
    });
    log(
      `packets/s ${method}: N=${small.n} ${Math.round(a.pps)}, N=${large.n} ${Math.round(b.pps)}, ratio ${(b.pps / a.pps).toFixed(2)}`,
    );
  };
  compare('netcg', kept.netcg.get(1), kept.netcg.get(Math.max(...kept.netcg.keys())));
  compare('recipe', kept.recipe.get(1), kept.recipe.get(Math.max(...kept.recipe.keys())));
  // For scale: the same sender with no ruleset at all.
  await withFreshNetns((ns) => {
    const [r] = packetsPerSecond([{ ns, classid: classidOf(0) }], sender, track);
    add(0, 'none', 'pps', r.runs, 'packets/s', { classid: classidOf(0) });
  });
}

function machine() {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: execFileSync('nproc', { encoding: 'utf8' }).trim(),
    cpu: cpus()[0]?.model?.trim(),
    kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    node: process.version,
    loadavg: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

const NOTES = [
  "**netlink apply**: the library's apply path (src/apply/apply.ts) into a new namespace, minus the cgroup directories (which `nft -f` + `ip -batch` do not create either): compile the parsed config against the namespace, `readState`, `plan`, then send the plan — routes and ip rules, and the whole table as one nf_tables batch guarded by the dump's generation id. In-process, timed with `performance.now()`; process start and config parsing excluded (parse time is in the CSV as `config_parse_ms`).",
  '**library apply()**: `apply(config, new NetlinkBackend(netns))` exactly as a program calls it, in a second fresh namespace: lock, the N profile cgroups (under a throwaway cgroup parent, removed afterwards), and the kernel objects; then `apply()` again with the same config (asserted `changed: false`).',
  '**nft -f + ip -batch**: the same ruleset, rendered by netcg (`renderNftTableScript`, `renderIpBatches`) before the clock starts, then `nsenter … nft -f -` and one `ip -batch -` per family, timed end to end including process start.',
  `**recipe**: the article's commands, one process each, 7 per profile (2 nat REDIRECT, ip6tables REJECT, mangle MARK, nat MASQUERADE, ip route, ip rule), every profile with its own mark and table as in the article; \`iptables\` is iptables-nft. Only up to N = ${RECIPE_MAX.toLocaleString('en-US')}.`,
  "**no-op re-apply**: the library's `diff()` steps: compile + `readState` (one consistent nf_tables dump + ip rule/route dumps) + `plan(current, desired)`; the plan is asserted empty, so nothing is sent. (`library apply() again` adds the lock and the cgroup checks.)",
  "**add one profile**: the config with N+1 profiles: compile + dump + plan + send exactly the plan (one nf_tables batch guarded by the dump's generation id; rtnetlink ops if any — none here, the profiles share one interface). The result is then checked to plan empty.",
  "**library Reconciler, same process** (src/apply/reconciler.ts): a long-lived `Reconciler` over the second namespace's backend, after one `apply()` through it to learn the state. Each measurement is answered from memory, asserted: the nf_tables generation id (one NFT_MSG_GETGEN) equals the one its last commit produced, so there is no dump; ip rules and routes are still dumped every time. *no-op, diff steps*: `Reconciler.diff()` = compile + GETGEN + rtnetlink dumps + plan (asserted empty; like for like with the one-shot no-op column). *no-op, apply()*: `Reconciler.apply()` as a program calls it, including the lock and the N cgroup checks. *add one, kernel part*: `Reconciler.diff()` for N+1 profiles plus sending its plan guarded by the remembered genid (like for like with the one-shot add-one column, which does not create cgroups either). *add one, apply()*: `Reconciler.apply()` adding profiles N+2 … N+6, one per call as a program adding profiles does (the median of the five), each including the lock, the cgroup checks and the new cgroup.",
  '**peak RSS**: `process.resourceUsage().maxRSS` of the child node process that does one N, right after the fresh apply, and at its end (after the re-applies and the add-one).',
  `**per-packet**: a C sender (bench/sender.c, built with cc at bench time) joins a throwaway net_cls cgroup whose classid is the LAST profile's, and sends ${PACKETS.toLocaleString('en-US')} 32-byte UDP datagrams over loopback inside the namespace; median of 5 runs, the two rulesets' runs interleaved. The profile chain's counter is checked afterwards to prove the packets were matched. netcg's ruleset here is the one installed by \`nft -f\` + \`ip -batch\` (identical to the netlink backend's, see test/kernel/oracle.test.ts); the recipe is measured at 1 and ${RECIPE_MAX.toLocaleString('en-US')} profiles (its linear mangle chain is walked per packet).`,
];

async function main() {
  cleanupOnSignals();
  preflight();
  const startedAt = machine();
  log(
    `sizes ${sizes.join(', ')}; machine: ${startedAt.nproc} CPUs, kernel ${startedAt.kernel}, node ${startedAt.node}, load ${startedAt.loadavg}`,
  );
  const t0 = Date.now();
  const kept = { netcg: new Map(), recipe: new Map() };
  try {
    const sender = buildSender(track);
    const { NftBackend } = await import('../dist/backends/nft.js');
    const facts = await withFreshNetns((ns) => new NftBackend(ns.path).hostFacts());
    const recipeSizes = sizes.filter((n) => n <= RECIPE_MAX);
    for (const n of sizes) {
      await measureNetlink(n);
      const ns = await measureNftIp(n, facts, n === 1 || n === Math.max(...sizes));
      if (ns) kept.netcg.set(n, { n, ns });
      if (n <= RECIPE_MAX) {
        const rns = await measureRecipe(n, n === 1 || n === Math.max(...recipeSizes));
        if (rns) kept.recipe.set(n, { n, ns: rns });
      }
    }
    await measurePackets(kept, sender);
  } finally {
    // Kept namespaces are registered with the cleanup list too (createBenchNetns tracks them).
    const failures = cleanupAll();
    for (const f of failures) log(`cleanup: ${f}`);
  }
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const extra = process.argv.slice(2);
  const command = extra.length === 0 ? 'npm run bench' : `node bench/run.mjs ${extra.join(' ')}`;
  process.stdout.write(
    `\n${textTable(mainTable(rows, sizes))}\n\n${textTable(reconcilerTable(rows, sizes))}\n\n${textTable(phaseTable(rows, sizes))}\n\n${textTable(packetTable(rows))}\n\n`,
  );
  for (const t of targets(rows, sizes))
    process.stdout.write(`${t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.measured}\n`);

  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'results.csv'), csv(rows));
  const series = [
    ['netlink fresh apply', 'fresh_netlink_ms'],
    ['library apply() + cgroups', 'lib_apply_ms'],
    ['nft -f + ip -batch', 'fresh_nft_ip_ms'],
    ['recipe (1 process/rule)', 'fresh_recipe_ms'],
    ['no-op re-apply', 'noop_reapply_ms', true],
    ['add one profile', 'add_one_ms', true],
    ['Reconciler no-op (diff steps)', 'rec_noop_diff_ms', true],
    ['Reconciler add one (kernel part)', 'rec_add_one_ms', true],
  ].map(([label, measure, dashed]) => ({
    label,
    dashed,
    points: rows.filter((r) => r.measure === measure).map((r) => ({ n: r.n, ms: r.value })),
  }));
  writeFileSync(
    join(opts.out, 'chart.svg'),
    timeChart(
      series.filter((s) => s.points.length > 0),
      `netcg: time against number of profiles (${startedAt.nproc} CPUs)`,
    ),
  );
  writeFileSync(
    join(opts.out, 'results.md'),
    markdown({ rows, sizes, machine: startedAt, command, notes: NOTES }),
  );
  log(
    `wrote ${['results.csv', 'chart.svg', 'results.md'].map((f) => relative(process.cwd(), join(opts.out, f))).join(', ')}`,
  );
}

main().catch((err) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? (process.env.BENCH_DEBUG ? err.stack : err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
