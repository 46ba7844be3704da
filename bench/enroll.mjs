#!/usr/bin/env node
// Enrollment and spawn benchmarks (issue 4), one command: `node bench/enroll.mjs`
// (after `npm run build`). For the net_cls (v1) and the cgroup2 hierarchy, over
// 1,000 live `sleep` processes moved back and forth between two throwaway cgroups:
//   - the library's Enroller (kept cgroup.procs fd, one write(2) per PID), in the
//     steady state (moving between profiles) and on a first enroll, which also
//     finds where each process came from (src/process/enroll-origins.ts: the hierarchy's
//     cgroup listings, or /proc/PID/cgroup per PID when there are many cgroups);
//   - a minimal C loop doing one write(2) per PID on an open fd (the physical limit,
//     compiled here with cc, timed inside the program). Both write cgroup.procs
//     (whole processes), so the comparison is like for like;
//   - the recipe's way, one `sh -c 'echo PID > tasks'` per PID;
// and spawn() against child_process.spawn, 200 starts of /bin/true each, waiting
// for 'close' each time, interleaved in rounds so drift hits both alike.
// Writes docs/bench/enroll.csv and docs/bench/enroll.md. Everything it creates
// (processes, cgroups, the C binary) is removed in finally and on SIGINT/SIGTERM.
//
// CPU placement: the kernel's cost of moving a task into a cgroup v2 cgroup depends
// on whether the writer runs on the CPU the moved tasks last ran on (measured here:
// 1,000 moves take ~3 ms from any writer — node or C — when all share one CPU, and
// 6–12 ms when the scheduler puts them apart, differently for node's main thread
// and a fresh C process). So by default the whole bench (node's threads, the
// sleepers, the C loop, every spawned child) is pinned to one CPU with
// `taskset -a -p`, which makes the library and the C loop comparable; `--pin none`
// leaves placement to the scheduler.
//
// Options: --procs 1000  --spawns 200  --reps 15  --pin 0|none  --out docs/bench
import { execFileSync, spawn as cpSpawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Enroller, spawnInCgroup } from '../dist/index.js';
import { ensureNetCls } from '../dist/cgroups/netcls.js';
import { findCgroup2Mount, readCgroupMounts } from '../dist/cgroups/mountinfo.js';
import { addon } from '../dist/native/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    procs: { type: 'string', default: '1000' },
    spawns: { type: 'string', default: '200' },
    reps: { type: 'string', default: '15' },
    pin: { type: 'string', default: '0' },
    out: { type: 'string', default: join(here, '..', 'docs', 'bench') },
  },
});
const PROCS = Number(opts.procs);
const SPAWNS = Number(opts.spawns);
const REPS = Number(opts.reps);
const log = (m) => process.stderr.write(`bench/enroll: ${m}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- cleanup: whatever was created is registered here first ----
const sleepers = [];
const cgroups = []; // { root, dir }
let workDir;
function cleanup() {
  for (const c of sleepers) c.kill('SIGKILL');
  for (const { root, dir } of cgroups.splice(0).reverse()) {
    for (let attempt = 0; attempt < 100 && existsSync(dir); attempt++) {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), pid);
        } catch {
          /* exited */
        }
      }
      try {
        rmdirSync(dir);
      } catch (err) {
        if (err.code !== 'EBUSY') throw err;
        spawnSync('sleep', ['0.02']);
      }
    }
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function makeCgroup(root, name) {
  const dir = join(root, name);
  mkdirSync(dir);
  cgroups.push({ root, dir });
  return dir;
}

const C_LOOP = `
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* c-loop PROCS_FILE PID...: one write(2) per PID on an open fd; prints ns spent writing, then failures. */
int main(int argc, char **argv) {
  int fd = open(argv[1], O_WRONLY | O_CLOEXEC), failed = 0;
  if (fd < 0) { perror(argv[1]); return 2; }
  char buf[24];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 2; i < argc; i++) {
    int n = snprintf(buf, sizeof buf, "%s", argv[i]);
    if (write(fd, buf, (size_t)n) != n) failed++;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%lld %d\\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec), failed);
  return 0;
}`;

function cLoop(bin, dir, pids) {
  const [ns, failed] = execFileSync(bin, [join(dir, 'cgroup.procs'), ...pids.map(String)], {
    encoding: 'utf8',
  })
    .trim()
    .split(' ')
    .map(Number);
  if (failed) throw new Error(`c-loop: ${failed} writes failed`);
  return ns / 1e9;
}

function timed(fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, r];
}

function expectAllOk(outcomes) {
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length) throw new Error(`enroll failed for ${bad.length} PIDs, e.g. ${JSON.stringify(bad[0])}`);
}

/** Moves/s of each enrollment method in one hierarchy. */
function benchHierarchy(hierarchy, root, cBin, pids) {
  const tag = `ncbench-${process.pid}-${hierarchy}`;
  const a = makeCgroup(root, `${tag}-a`);
  const b = makeCgroup(root, `${tag}-b`);
  const rows = [];
  const add = (method, seconds, moves) =>
    rows.push({ hierarchy, method, moves, seconds, rate: moves / seconds });

  // Each repetition: a fresh Enroller's first enroll (root -> a: finds each PID's origin to
  // remember it, then writes), the steady state (a -> b -> a: fds kept open, origins known),
  // leave() (back to the root, where they were found); then the C loop over the same moves.
  const first = [];
  const lib = [];
  const left = [];
  const c = [];
  for (let r = 0; r < REPS; r++) {
    const enroller = new Enroller({
      file: 'bench',
      table: 'netcg',
      cgroupParent: 'netcg',
      ipRulePriority: 10000,
      profiles: {},
    });
    try {
      const [f, outcomes] = timed(() => enroller.enrollCgroup(a, pids));
      expectAllOk(outcomes);
      first.push(f);
      for (const dest of [b, a]) {
        const [s, o] = timed(() => enroller.enrollCgroup(dest, pids));
        expectAllOk(o);
        lib.push(s);
      }
      const [l, lo] = timed(() => enroller.leave(pids));
      expectAllOk(lo);
      left.push(l);
    } finally {
      enroller.close();
    }
    for (const dest of [b, a]) c.push(cLoop(cBin, dest, pids));
    cLoop(cBin, root, pids); // back to the root for the next first enroll (not timed)
  }
  add('library enroll, first time (remembers origins)', median(first), pids.length);
  add('library enroll (between profiles)', median(lib), pids.length);
  add('C loop, one write(2) per PID', median(c), pids.length);
  add('library leave', median(left), pids.length);

  // The recipe: one shell per PID (v1's tasks file; cgroup2 has only cgroup.procs).
  const file = join(a, hierarchy === 'net_cls' ? 'tasks' : 'cgroup.procs');
  const [shell] = timed(() => {
    for (const pid of pids) execFileSync('sh', ['-c', `echo ${pid} > ${file}`]);
  });
  add("recipe: sh -c 'echo PID > tasks' per PID", shell, pids.length);
  return { rows, cgroupA: a };
}

async function startOne(start) {
  const child = start();
  await once(child, 'close');
}

/** Per-start seconds of the library's spawn into `dir` and of child_process.spawn, interleaved. */
async function benchSpawn(hierarchy, dir) {
  const lib = [];
  const node = [];
  const round = 20;
  for (let i = 0; i < 3; i++) {
    await startOne(() => spawnInCgroup(dir, '/bin/true'));
    await startOne(() => cpSpawn('/bin/true'));
  }
  let method;
  for (let done = 0; done < SPAWNS; done += round) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < round; i++) {
      await startOne(() => {
        const c = spawnInCgroup(dir, '/bin/true');
        method = c.method;
        return c;
      });
    }
    lib.push(Number(process.hrtime.bigint() - t) / 1e9 / round);
    t = process.hrtime.bigint();
    for (let i = 0; i < round; i++) await startOne(() => cpSpawn('/bin/true'));
    node.push(Number(process.hrtime.bigint() - t) / 1e9 / round);
  }
  const libS = median(lib);
  const nodeS = median(node);
  return [
    {
      hierarchy,
      method: `library spawn (${method}) of /bin/true`,
      moves: SPAWNS,
      seconds: libS * SPAWNS,
      rate: 1 / libS,
    },
    {
      hierarchy,
      method: 'child_process.spawn of /bin/true',
      moves: SPAWNS,
      seconds: nodeS * SPAWNS,
      rate: 1 / nodeS,
    },
  ];
}

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main() {
  // Before any child exists, so every process the bench starts inherits the mask.
  if (opts.pin !== 'none')
    execFileSync('taskset', ['-a', '-p', '-c', opts.pin, String(process.pid)], { stdio: 'ignore' });
  workDir = mkdtempSync(join(tmpdir(), 'netcg-bench-enroll-'));
  const cBin = join(workDir, 'c-loop');
  writeFileSync(`${cBin}.c`, C_LOOP);
  execFileSync('cc', ['-O2', '-o', cBin, `${cBin}.c`]);

  log(`starting ${PROCS} sleep processes`);
  for (let i = 0; i < PROCS; i++) sleepers.push(cpSpawn('sleep', ['600'], { stdio: 'ignore' }));
  await Promise.all(sleepers.map((s) => once(s, 'spawn')));
  const pids = sleepers.map((s) => s.pid);

  const hierarchies = [
    ['net_cls', ensureNetCls(addon.mount).mountPoint],
    ['cgroup2', findCgroup2Mount(readCgroupMounts())?.mountPoint],
  ];
  const rows = [];
  const spawnRows = [];
  for (const [name, root] of hierarchies) {
    if (!root) throw new Error(`no ${name} hierarchy mounted`);
    log(`${name} at ${root}: enroll`);
    const { rows: r, cgroupA } = benchHierarchy(name, root, cBin, pids);
    rows.push(...r);
    log(`${name}: spawn vs child_process.spawn`);
    spawnRows.push(...(await benchSpawn(name, cgroupA)));
  }
  return { rows, spawnRows };
}

function report({ rows, spawnRows }) {
  const machine = {
    cpu: cpus()[0]?.model ?? '?',
    cpus: cpus().length,
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
  };
  const csvLines = ['hierarchy,method,count,seconds,per_second'];
  for (const r of [...rows, ...spawnRows])
    csvLines.push(`${r.hierarchy},"${r.method}",${r.moves},${r.seconds.toFixed(6)},${r.rate.toFixed(1)}`);

  const md = [
    '# Enrollment and spawn benchmarks',
    '',
    `\`node bench/enroll.mjs --procs ${PROCS} --spawns ${SPAWNS} --reps ${REPS} --pin ${opts.pin}\` (${opts.pin === 'none' ? 'CPU placement left to the scheduler' : `everything pinned to CPU ${opts.pin}`}) on ${machine.cpus}× ${machine.cpu}, Linux ${machine.kernel}, Node ${machine.node}, ${machine.date}.`,
    '',
    `## Moving ${fmt(PROCS)} live processes between two cgroups`,
    '',
    'Every row is the median over the repetitions (steady state and C loop: of the moves in both directions); each repetition starts a fresh Enroller, so its first enroll finds the origins again. The C loop is timed inside the program (its exec is not counted).',
    '',
    '| hierarchy | method | moves/s | time for all | vs C loop |',
    '|---|---|---:|---:|---:|',
  ];
  const summary = [];
  for (const h of ['net_cls', 'cgroup2']) {
    const hr = rows.filter((r) => r.hierarchy === h);
    const c = hr.find((r) => r.method.startsWith('C loop'));
    for (const r of hr)
      md.push(
        `| ${h} | ${r.method} | ${fmt(r.rate)} | ${fmt(r.seconds * 1000, 1)} ms | ${fmt((100 * r.rate) / c.rate)}% |`,
      );
    const lib = hr.find((r) => r.method === 'library enroll (between profiles)');
    summary.push(`${h}: library enroll ${fmt((100 * lib.rate) / c.rate)}% of the C loop (target ≥ 80%)`);
  }
  md.push(
    '',
    `## Starting a program: ${SPAWNS} × /bin/true, waiting for 'close' each time`,
    '',
    '| hierarchy | method | per start | starts/s | vs child_process.spawn |',
    '|---|---|---:|---:|---:|',
  );
  for (const h of ['net_cls', 'cgroup2']) {
    const [lib, node] = spawnRows.filter((r) => r.hierarchy === h);
    for (const r of [lib, node])
      md.push(
        `| ${h} | ${r.method} | ${fmt((1000 * r.seconds) / r.moves, 3)} ms | ${fmt(r.rate)} | ${fmt(node.rate / r.rate, 2)}× |`,
      );
    summary.push(`${h}: spawn costs ${fmt(node.rate / lib.rate, 2)}× child_process.spawn (target ≤ 1.2×)`);
  }
  md.push('', ...summary.map((s) => `- ${s}`), '');
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'enroll.csv'), `${csvLines.join('\n')}\n`);
  writeFileSync(join(opts.out, 'enroll.md'), md.join('\n'));
  process.stdout.write(`${md.join('\n')}\n`);
}

try {
  report(await main());
} finally {
  cleanup();
}
