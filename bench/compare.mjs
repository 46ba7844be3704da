#!/usr/bin/env node
// Before/after, side by side in one run: the netlink worker (bench/netlink-worker.mjs)
// of this checkout and of an older commit, alternately (ABBA...), each time in fresh
// throwaway namespaces, so both see the same machine and the same load. Each worker
// runs under /usr/bin/time, so its whole CPU time (user + system) is compared too:
// on a shared machine CPU time moves far less with the load than wall time does.
//
//   node bench/compare.mjs --base COMMIT [--sizes 1,100,1000] [--reps 6] [--out docs/bench]
//
// The base commit is checked out into a temporary git worktree (removed at the end)
// and built there (tsc + node-gyp, against this checkout's node_modules). Its worker
// must take the same arguments (NETNS N NETNS2 CGROUP_PARENT) and print the same JSON;
// per-step CPU rows appear only when both workers report them.
// Writes compare.md and compare.csv: medians per N and measure, and their ratio.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { removeCgroupParent } from '../build-testbed/testbed/cgroups.js';
import { cleanupAll, cleanupOnSignals, track } from './cleanup.mjs';
import { median } from './report.mjs';
import { createBenchNetns } from './scenario.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const log = (msg) => process.stderr.write(`bench compare: ${msg}\n`);

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    sizes: { type: 'string', default: '1,100,1000' },
    reps: { type: 'string', default: '6' },
    out: { type: 'string', default: join(root, 'docs', 'bench') },
  },
});
if (!opts.base) throw new Error('--base COMMIT is required');
const sizes = opts.sizes.split(',').map(Number);
const reps = Number(opts.reps);

/** What is compared: [label, value from one worker result]. */
/** @type {Array<[string, (r: any) => number]>} */
const MEASURES = [
  ['fresh apply, kernel part (ms)', (r) => r.freshMs],
  ['no-op re-apply, one-shot (ms)', (r) => median(r.noopRunsMs)],
  ['add one profile, one-shot (ms)', (r) => r.addOneMs],
  ['library apply() with cgroups (ms)', (r) => r.libApplyMs],
  ['Reconciler no-op diff (ms)', (r) => median(r.recNoopDiffMs)],
  ['peak RSS after apply (MiB)', (r) => r.applyRssKiB / 1024],
  ['whole worker run, CPU (s)', (r) => r.workerCpuS],
  ['fresh apply, kernel part, CPU (ms)', (r) => r.freshCpuMs],
  ['no-op re-apply, one-shot, CPU (ms)', (r) => r.noopRunsCpuMs && median(r.noopRunsCpuMs)],
  ['add one profile, one-shot, CPU (ms)', (r) => r.addOneCpuMs],
  ['library apply() with cgroups, CPU (ms)', (r) => r.libApplyCpuMs],
  ['Reconciler no-op diff, CPU (ms)', (r) => r.recNoopDiffCpuMs && median(r.recNoopDiffCpuMs)],
];

const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();

/** A built checkout of `commit` in a temporary worktree; returns its path and a remover. */
function checkoutBase(commit) {
  const sha = git('rev-parse', '--verify', `${commit}^{commit}`);
  const dir = join(mkdtempSync(join(tmpdir(), 'netcg-base-')), 'src');
  git('worktree', 'add', '--detach', dir, sha);
  const remove = () => {
    git('worktree', 'remove', '--force', dir);
    rmSync(dirname(dir), { recursive: true, force: true });
  };
  const untrack = track(remove);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  // Through npm, as `npm run build` would: npm's config (e.g. nodedir) reaches node-gyp.
  const run = (...args) =>
    execFileSync('npx', ['--no-install', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  log(`building ${sha.slice(0, 12)} in ${dir}`);
  try {
    run('tsc', '-p', 'tsconfig.build.json');
    if (existsSync(join(dir, 'tsconfig.testbed.json'))) run('tsc', '-p', 'tsconfig.testbed.json');
    run('node-gyp', 'rebuild', '--silent', `-j${cpus().length}`);
  } catch (err) {
    remove();
    untrack();
    throw err;
  }
  return {
    sha,
    dir,
    remove() {
      remove();
      untrack();
    },
  };
}

function worker(dir, n) {
  const cgroupParent = `netcg-cmp-${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = createBenchNetns(track);
  const ns2 = createBenchNetns(track);
  const untrack = track(() => removeCgroupParent(cgroupParent));
  const timeFile = join(dirname(dir), `time-${cgroupParent}`);
  const args = ['-f', '%U %S', '-o', timeFile, process.execPath];
  args.push(join(dir, 'bench/netlink-worker.mjs'), ns.path, String(n), ns2.path, cgroupParent);
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ns.remove();
      ns2.remove();
      removeCgroupParent(cgroupParent);
      untrack();
      if (code === 0) resolve({ ...JSON.parse(out), workerCpuS: cpuSeconds(timeFile) });
      else reject(new Error(`worker in ${dir} (N=${n}) failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
    });
  });
}

/** User + system seconds that /usr/bin/time wrote (`%U %S`); the file is removed. */
function cpuSeconds(file) {
  const last = readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  rmSync(file);
  const [user = Number.NaN, sys = Number.NaN] = last.split(' ').map(Number);
  return user + sys;
}

/** ABBA order: each side goes first as often as the other. */
async function measure(sides, n) {
  /** @type {{ base: any[]; head: any[] }} */
  const runs = { base: [], head: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 4 === 0 || rep % 4 === 3 ? ['base', 'head'] : ['head', 'base'];
    for (const side of order) runs[side].push(await worker(sides[side], n));
  }
  const both = MEASURES.filter(([, of]) => [...runs.base, ...runs.head].every((r) => of(r) !== undefined));
  return both.map(([label, of]) => {
    const base = median(runs.base.map(of));
    const head = median(runs.head.map(of));
    return { n, label, base, head, ratio: head / base };
  });
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));

function report(rows, base, head, load) {
  const lines = [
    '# Before and after, side by side',
    '',
    `\`node bench/compare.mjs --base ${base.slice(0, 12)}\`: the netlink worker of commit ${base.slice(0, 12)}`,
    `(base) and of ${head.slice(0, 12)} (head) alternately, ABBA, ${reps} runs each per N, in fresh`,
    `namespaces; medians. ${cpus().length} CPUs, load average ${load.map((l) => l.toFixed(1)).join(' ')} at the start.`,
    'CPU rows are user + system time (the whole worker process from /usr/bin/time, or one step where',
    'both workers report it): on a shared machine they move far less with the load than wall time.',
    'A ratio above 1 means head is slower (or bigger).',
    '',
    '| N | measure | base | head | head / base |',
    '|---:|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.n} | ${r.label} | ${fmt(r.base)} | ${fmt(r.head)} | ${r.ratio.toFixed(2)} |`),
    '',
  ];
  return lines.join('\n');
}

async function main() {
  cleanupOnSignals();
  const load = loadavg();
  const head = git('rev-parse', 'HEAD');
  log('building this checkout (tsc; the addon is build/ as npm run setup left it)');
  execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const base = checkoutBase(opts.base);
  try {
    const rows = [];
    for (const n of sizes) {
      log(`N=${n}`);
      rows.push(...(await measure({ base: base.dir, head: root }, n)));
    }
    mkdirSync(opts.out, { recursive: true });
    const csv = [
      'n,measure,base,head,ratio',
      ...rows.map((r) => `${r.n},"${r.label}",${r.base},${r.head},${r.ratio}`),
    ];
    writeFileSync(join(opts.out, 'compare.csv'), `${csv.join('\n')}\n`);
    const md = report(rows, base.sha, head, load);
    writeFileSync(join(opts.out, 'compare.md'), md);
    process.stdout.write(md);
    log(`wrote ${relative(process.cwd(), join(opts.out, 'compare.md'))}`);
  } finally {
    base.remove();
    for (const f of cleanupAll()) log(`cleanup: ${f}`);
  }
}

await main();
