#!/usr/bin/env node
// What the host's routing table costs netcg: `netcg apply` (no-op re-apply) and
// `netcg diff` of a one-profile config, run as a user runs them (the built CLI,
// a fresh process each time), in a namespace holding 0, 100k and 500k foreign
// IPv6 routes (test/testbed/routes.ts). Wall time and peak RSS from /usr/bin/time;
// the median of REPEATS runs. Target (issue 10): at most 1.2x the empty host's
// cost in both. Results go to docs/bench/foreign-routes.md.
//   node bench/foreign-routes.mjs [COUNTS=0,100000,500000] [REPEATS=5] [--before=CLI [--before-name=TEXT]]
// --before=CLI: also measure another build's dist/cli/main.js (an older commit built
// elsewhere), run by turns with this one in the same namespaces, so both see the same
// load; the table then shows both side by side. --before-name says what it is (e.g. a
// commit) in the results, instead of its path.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroupParent } from '../build-testbed/testbed/cgroups.js';
import { uniqueName } from '../build-testbed/testbed/netns.js';
import { addForeignRoutes } from '../build-testbed/testbed/routes.js';
import { cleanupAll, cleanupOnSignals, track } from './cleanup.mjs';
import { configText, createBenchNetns } from './scenario.mjs';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const counts = (positional[0] ?? '0,100000,500000').split(',').map(Number);
const repeats = Number(positional[1] ?? 5);
const flag = (name) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3);
const before = flag('before');
const beforeName = flag('before-name') ?? before;
/** The builds measured: this one ('after' when compared) and, with --before, the other. */
const builds = [
  ...(before ? [{ name: 'before', cli: before }] : []),
  { name: before ? 'after' : 'now', cli: new URL('../dist/cli/main.js', import.meta.url).pathname },
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One CLI run under /usr/bin/time: { seconds, cpuSeconds, maxRssKiB }. diff exits 0 (nothing to do). */
function timedCli(cli, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, cli, ...args], {
    encoding: 'utf8',
  });
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`netcg ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { seconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), maxRssKiB: Number(m[4]) };
}

/** A namespace with `count` foreign routes and the config applied in it. Removed by cleanupAll(). */
function prepare(count) {
  const ns = createBenchNetns(track);
  const dir = mkdtempSync(join(tmpdir(), 'netcg-bench-fr-'));
  track(() => rmSync(dir, { recursive: true, force: true }));
  const cgroupParent = uniqueName('ncbfr');
  // Registered after the namespace: cleanupAll() runs newest first, so the cgroups go before it.
  track(() => removeCgroupParent(cgroupParent));
  const t0 = performance.now();
  addForeignRoutes(ns, count);
  const addMs = performance.now() - t0;
  const file = join(dir, 'netcg.json');
  writeFileSync(file, configText(1, { cgroupParent }));
  const args = (cmd) => [cmd, '-c', file, '--netns', ns.path];
  timedCli(builds[0].cli, args('apply')); // installs; the measured applies find nothing to do
  return { count, addMs, args, runs: {} };
}

/**
 * Every namespace exists before the first measured run, and each round runs every
 * (command, routes, build) once: a change in the machine's load (it is shared) hits
 * all of them alike instead of one row.
 */
function measureAll(envs) {
  for (let i = 0; i < repeats; i++)
    for (const cmd of ['apply', 'diff'])
      for (const env of envs)
        for (const b of builds) {
          const key = `${cmd}:${b.name}`;
          env.runs[key] ??= [];
          env.runs[key].push(timedCli(b.cli, env.args(cmd)));
        }
  return envs.map((env) => {
    const row = { count: env.count, addMs: env.addMs };
    for (const [key, rs] of Object.entries(env.runs))
      row[key] = {
        seconds: median(rs.map((r) => r.seconds)),
        cpuSeconds: median(rs.map((r) => r.cpuSeconds)),
        maxRssMiB: median(rs.map((r) => r.maxRssKiB)) / 1024,
      };
    return row;
  });
}

cleanupOnSignals();
let rows;
try {
  const envs = counts.map((count) => {
    const env = prepare(count);
    process.stdout.write(`${count} routes added in ${(env.addMs / 1000).toFixed(1)} s\n`);
    return env;
  });
  rows = measureAll(envs);
} finally {
  for (const f of cleanupAll()) process.stderr.write(`bench: cleanup: ${f}\n`);
}

const base = rows.find((r) => r.count === 0);
const ratio = (v, b) => (b ? `${(v / b).toFixed(2)}x` : '');
/** One build's columns for one row: per command wall s, CPU s, MiB; then each against the empty host. */
function cells(r, name) {
  const m = (cmd) => r[`${cmd}:${name}`];
  const b = (cmd) => base?.[`${cmd}:${name}`];
  const vs = (cmd) =>
    ['seconds', 'cpuSeconds', 'maxRssMiB'].map((k) => ratio(m(cmd)[k], b(cmd)?.[k])).join(', ');
  const abs = (cmd) => [m(cmd).seconds.toFixed(2), m(cmd).cpuSeconds.toFixed(2), m(cmd).maxRssMiB.toFixed(0)];
  return [...abs('apply'), ...abs('diff'), vs('apply'), vs('diff')];
}
const lines = [
  '# Foreign routes: cost of apply and diff against the host routing table size',
  '',
  `Generated by \`node bench/foreign-routes.mjs\` on ${new Date().toISOString().slice(0, 10)}: one-profile config,`,
  'no-op `netcg apply` and `netcg diff` through the CLI (a fresh process each), in a namespace holding N',
  'foreign IPv6 blackhole routes (main table, proto static). Median of ' +
    `${repeats} runs; wall time, CPU time (user + system) and peak RSS from`,
  '`/usr/bin/time`. Every namespace exists before the first measured run and each round runs every',
  'cell once, so a change in the load of the (shared) machine hits all cells alike; CPU time moves',
  'less with that load than wall time. Target (issue 10): at most 1.2x the empty host in time and in memory.',
  ...(before
    ? [
        '',
        `"before" is another build (${beforeName}), run by turns with this one ("after") in the same namespaces.`,
      ]
    : []),
  '',
  `| foreign routes |${before ? ' build |' : ''} apply s | apply CPU s | apply MiB | diff s | diff CPU s | diff MiB | apply vs 0 (wall, CPU, mem) | diff vs 0 (wall, CPU, mem) |`,
  `|---:|${before ? '---|' : ''}---:|---:|---:|---:|---:|---:|---:|---:|`,
  ...rows.flatMap((r) =>
    builds.map(
      (b) =>
        `| ${r.count.toLocaleString('en')} |${before ? ` ${b.name} |` : ''} ${cells(r, b.name).join(' | ')} |`,
    ),
  ),
  '',
];
if (counts.includes(0))
  writeFileSync(new URL('../docs/bench/foreign-routes.md', import.meta.url), lines.join('\n'));
process.stdout.write(lines.join('\n'));
