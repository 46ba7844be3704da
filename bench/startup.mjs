#!/usr/bin/env node
// Start-up time of the netcg CLI, side by side in one run, hyperfine-like:
//   - the recipe's launcher: a shell script that writes $$ to the profile's
//     cgroup.procs and execs the program (what `netcg run` replaces);
//   - `node -e 0`: the floor every node program pays;
//   - netcg --version, --help, `help apply`, `completion bash`;
//   - netcg run P -- /bin/true, P a real profile (net_cls classid, DNS redirect,
//     IPv6 reject, route via tun0) applied by `netcg apply --netns` in a throwaway
//     namespace, its cgroup a throwaway one.
// Every command is started the same way, by a small C timer (compiled here with
// cc) that enters the namespace, forks, execs and wait4()s: wall time from fork to
// reaped, CPU time and peak RSS from the rusage, nothing of node's own spawn. The
// commands alternate: each round runs each once, in a fresh random order, so
// drift and the other users of the machine hit all alike. Load average, CPU count
// and versions go into the report.
//
// Writes startup.md and startup.csv (every sample) to --out. Everything it creates
// (namespace, cgroups, temp dir, run's config-cache entries for its config) is
// removed in finally and on SIGINT/SIGTERM.
//
//   npm run build:ts && npm run build:testbed && node bench/startup.mjs
//   node bench/startup.mjs --reps 40 --cli before=/tmp/old/dist/bin/netcg.js --cli after=dist/bin/netcg.js
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { removeCgroupParent } from '../build-testbed/testbed/cgroups.js';
import { uniqueName } from '../build-testbed/testbed/netns.js';
import { cleanupAll, cleanupOnSignals, track } from './cleanup.mjs';
import { median, markdownTable, textTable } from './report.mjs';
import { createBenchNetns, DNS_PORT, VIA } from './scenario.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    cli: {
      type: 'string',
      multiple: true,
      default: [`netcg=${join(here, '..', 'dist', 'bin', 'netcg.js')}`],
    },
    out: { type: 'string', default: join(here, '..', 'docs', 'bench') },
  },
});
const REPS = Number(opts.reps);
const WARMUP = Number(opts.warmup);
const CLIS = opts.cli.map((spec) => {
  const eq = spec.indexOf('=');
  return { label: spec.slice(0, eq), path: resolve(spec.slice(eq + 1)) };
});
const PROFILE = 'p';
const CONFIG_CACHE = '/run/netcg/config-cache';
const TARGETS = { help: 40, run: 60 };
const log = (m) => process.stderr.write(`bench/startup: ${m}\n`);

/** Nearest-rank percentile of a non-empty list. */
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1];
const ms = (x) => x.toFixed(1);

/** Removes the entries `netcg run` remembered for the bench's config (its cgroupParent is unique). */
function forgetConfigs(cgroupParent) {
  let names = [];
  try {
    names = readdirSync(CONFIG_CACHE);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(CONFIG_CACHE, name);
    try {
      if (readFileSync(path, 'utf8').includes(cgroupParent)) rmSync(path, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/** The namespace, the applied profile, the config file and the launcher script. */
function setUp() {
  const ns = createBenchNetns(track);
  const dir = mkdtempSync(join(tmpdir(), 'netcg-startup-'));
  track(() => rmSync(dir, { recursive: true, force: true }));
  const cgroupParent = uniqueName('ncstart');
  track(() => {
    const left = removeCgroupParent(cgroupParent);
    if (left.length > 0) throw new Error(`cgroups left: ${left.join(', ')}`);
  });
  track(() => forgetConfigs(cgroupParent));
  const config = join(dir, 'netcg.yaml');
  writeFileSync(
    config,
    `table: netcg\ncgroupParent: ${cgroupParent}\nprofiles:\n  ${PROFILE}:\n    classid: 4242\n    dns: { redirect: ${DNS_PORT} }\n    ipv6: reject\n    route: { via: ${VIA} }\n`,
  );
  chmodSync(config, 0o644);
  execFileSync(process.execPath, [CLIS[0].path, 'apply', '-c', config, '--netns', ns.path], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const cgroup = JSON.parse(
    execFileSync(process.execPath, [CLIS[0].path, 'status', '-c', config, '--netns', ns.path, '--json'], {
      encoding: 'utf8',
    }),
  ).profiles.find((p) => p.name === PROFILE)?.match?.cgroup;
  if (typeof cgroup !== 'string')
    throw new Error('bench/startup: netcg status names no cgroup for the profile');
  const timer = join(dir, 'timer');
  writeFileSync(`${timer}.c`, C_TIMER);
  execFileSync('cc', ['-O2', '-o', timer, `${timer}.c`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const launcher = join(dir, 'launch.sh');
  writeFileSync(launcher, `#!/bin/sh\necho $$ > ${cgroup}/cgroup.procs\nexec "$@"\n`);
  chmodSync(launcher, 0o755);
  return { ns, config, cgroup, launcher, timer };
}

/** The rows: label, what it is, argv (absolute paths: the timer execs them as they are). */
function commands({ config, launcher }) {
  const rows = [
    {
      label: 'recipe',
      what: 'sh launcher: echo $$ > cgroup.procs; exec /bin/true',
      argv: [launcher, '/bin/true'],
    },
    { label: 'node', what: 'node -e 0', argv: [process.execPath, '-e', '0'] },
  ];
  for (const { label, path } of CLIS) {
    const cli = (...args) => [process.execPath, path, ...args];
    rows.push(
      { label, what: 'netcg --version', argv: cli('--version') },
      { label, what: 'netcg --help', argv: cli('--help') },
      { label, what: 'netcg help apply', argv: cli('help', 'apply') },
      { label, what: 'netcg completion bash', argv: cli('completion', 'bash') },
      {
        label,
        what: `netcg run ${PROFILE} -- /bin/true`,
        argv: cli('run', '-c', config, PROFILE, '--', '/bin/true'),
      },
    );
  }
  return rows;
}

/**
 * The timer, in C so that nothing of its own is measured: enters the namespace
 * (setns, like nsenter), then fork, exec, wait4. Writes "wall_ns user_us sys_us
 * maxrss_kib status" to fd 3 (close-on-exec, so the command never sees it).
 */
const C_TIMER = `#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) { perror("setns"); return 2; }
  fcntl(3, F_SETFD, FD_CLOEXEC);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) { execv(argv[2], argv + 2); _exit(127); }
  int status; struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) { perror("fork/wait4"); return 2; }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  dprintf(3, "%lld %ld %ld %ld %d\\n",
          (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
          ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
          ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_maxrss,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}
`;

/**
 * One start: wall ms, CPU ms (user + system) and peak RSS (MiB), from the timer.
 * @param {{ timer: string, ns: { path: string } }} env
 * @param {string[]} argv
 * @param {'ignore' | 'pipe'} stdout
 */
function once(env, argv, stdout = 'ignore') {
  const r = spawnSync(env.timer, [env.ns.path, ...argv], {
    stdio: ['ignore', stdout, 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const [wallNs, userUs, sysUs, rssKiB, status] = String(r.output[3] ?? '')
    .trim()
    .split(' ')
    .map(Number);
  if (r.status !== 0 || status !== 0)
    throw new Error(`bench/startup: ${argv.join(' ')} failed (${status ?? r.status}): ${r.stderr}`);
  return { wall: wallNs / 1e6, cpu: (userUs + sysUs) / 1000, rss: rssKiB / 1024, stdout: r.stdout };
}

/** Both ways into the profile really land in its cgroup (checked once, not timed). */
function checkMembership(env, rows) {
  const rel = env.cgroup.replace(/^\/sys\/fs\/cgroup\/[^/]+/, '');
  for (const row of rows.filter((r) => r.argv.includes('/bin/true'))) {
    const argv = [...row.argv.slice(0, -1), 'cat', '/proc/self/cgroup'];
    const { stdout } = once(env, argv, 'pipe');
    if (!stdout.split('\n').some((l) => l.endsWith(`:${rel}`)))
      throw new Error(`bench/startup: ${row.what} (${row.label}) did not join ${env.cgroup}:\n${stdout}`);
  }
}

/** WARMUP + REPS rounds; each round runs every command once, in a fresh random order. */
function measure(env, rows) {
  const samples = rows.map(() => ({ wall: [], cpu: [], rss: [] }));
  for (let round = 0; round < WARMUP + REPS; round++) {
    const order = rows.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const s = once(env, rows[i].argv);
      if (round < WARMUP) continue;
      samples[i].wall.push(s.wall);
      samples[i].cpu.push(s.cpu);
      samples[i].rss.push(s.rss);
    }
    if ((round + 1) % 10 === 0) log(`round ${round + 1}/${WARMUP + REPS}`);
  }
  return rows.map((row, i) => ({ ...row, ...samples[i] }));
}

function table(results) {
  const node = results.find((r) => r.label === 'node');
  const over = (x, base) => (x - base >= 0 ? '+' : '') + ms(x - base);
  return {
    header: [
      'command',
      'build',
      'median ms',
      'p90 ms',
      'min ms',
      'median − node -e 0',
      'CPU ms (median)',
      'CPU − node -e 0',
      'peak RSS MiB',
    ],
    lines: results.map((r) => [
      r.what,
      r.label,
      ms(median(r.wall)),
      ms(percentile(r.wall, 90)),
      ms(Math.min(...r.wall)),
      r === node ? '' : over(median(r.wall), median(node.wall)),
      ms(median(r.cpu)),
      r === node ? '' : over(median(r.cpu), median(node.cpu)),
      ms(median(r.rss)),
    ]),
  };
}

/** The targets per CLI build: --help within 40 ms of node -e 0, run within 60 ms. */
function targets(results) {
  const base = results.find((r) => r.label === 'node');
  const node = { wall: median(base.wall), cpu: median(base.cpu) };
  return CLIS.flatMap(({ label }) =>
    /** @type {Array<[string, number]>} */ ([
      ['netcg --help', TARGETS.help],
      [`netcg run ${PROFILE} -- /bin/true`, TARGETS.run],
    ]).map(([what, limit]) => {
      const row = results.find((r) => r.label === label && r.what === what);
      const over = median(row.wall) - node.wall;
      const cpu = median(row.cpu) - node.cpu;
      return `- ${label}: \`${what}\` ≤ \`node -e 0\` + ${limit} ms: ${over <= limit ? 'met' : '**not met**'} (median +${ms(over)} ms; CPU time +${ms(cpu)} ms)`;
    }),
  );
}

function csv(results) {
  const head = 'build,command,reps,median_ms,p90_ms,min_ms,cpu_median_ms,rss_median_mib,wall_samples_ms';
  const lines = results.map((r) =>
    [
      r.label,
      `"${r.what}"`,
      r.wall.length,
      ms(median(r.wall)),
      ms(percentile(r.wall, 90)),
      ms(Math.min(...r.wall)),
      ms(median(r.cpu)),
      ms(median(r.rss)),
      r.wall.map(ms).join(' '),
    ].join(','),
  );
  return `${[head, ...lines].join('\n')}\n`;
}

function markdown(results, machine) {
  return `# CLI start-up

\`node bench/startup.mjs\` (as root; after \`npm run build:ts && npm run build:testbed\`). Each
command ${REPS} times after ${WARMUP} warm-up rounds, all commands alternating in a fresh random
order every round. A small C timer starts each one inside the bench's namespace (setns, fork,
exec, wait4): wall time from fork until reaped, CPU time and peak RSS from its rusage. \`run\`'s profile is applied in a throwaway namespace (net_cls
classid, DNS redirect, IPv6 reject, route via tun0); the recipe row is a shell script that
writes \`$$\` to the same cgroup's \`cgroup.procs\` and execs. Wall times in ms; "CPU" is user +
system time of the whole process tree; RSS is the largest process's peak.

${machine}

Builds: ${CLIS.map(({ label, path }) => {
    const rel = relative(join(here, '..'), path);
    return rel.startsWith('..')
      ? `${label} = \`${path.split('/').slice(-3).join('/')}\` of another checkout`
      : `${label} = \`${rel}\``;
  }).join('; ')}.

${markdownTable(table(results))}

Targets:

${targets(results).join('\n')}
`;
}

cleanupOnSignals();
const load0 = loadavg();
try {
  const env = setUp();
  const rows = commands(env);
  checkMembership(env, rows);
  log(`${rows.length} commands × ${REPS} (+${WARMUP} warm-up), alternating`);
  const results = measure(env, rows);
  const load1 = loadavg();
  const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(' ');
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Linux ${release()}, node ${process.version}; load average ${fmtLoad(load0)} at the start, ${fmtLoad(load1)} at the end (the machine is shared: compare rows of one run, not runs).`;
  console.log(`${textTable(table(results))}\n\n${targets(results).join('\n')}\n\n${machine}`);
  writeFileSync(join(opts.out, 'startup.csv'), csv(results));
  writeFileSync(join(opts.out, 'startup.md'), markdown(results, machine));
  log(`wrote ${join(opts.out, 'startup.md')} and startup.csv`);
} finally {
  for (const f of cleanupAll()) log(`cleanup: ${f}`);
}
