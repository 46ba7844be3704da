#!/usr/bin/env node
// What the host's routing table costs netcg: `netcg apply` (no-op re-apply) and
// `netcg diff` of a one-profile config, run as a user runs them (the built CLI,
// a fresh process each time), in a namespace holding 0, 100k and 500k foreign
// IPv6 routes (test/testbed/routes.ts). Wall time and peak RSS from /usr/bin/time;
// the median of REPEATS runs. Target (issue 10): at most 1.2x the empty host's
// cost in both. Results go to docs/bench/foreign-routes.md.
//   node bench/foreign-routes.mjs [COUNTS=0,100000,500000] [REPEATS=5] [--before=CLI]
// --before=CLI: also measure another build's dist/cli/main.js (an older commit built
// elsewhere), run by turns with this one in the same namespaces, so both see the same
// load; the table then shows both side by side.
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
const before = flags.find((f) => f.startsWith('--before='))?.slice('--before='.length);
/** The builds measured: this one ('after' when compared) and, with --before, the other. */
const builds = [
  ...(before ? [{ name: 'before', cli: before }] : []),
  { name: before ? 'after' : 'now', cli: new URL('../dist/cli/main.js', import.meta.url).pathname },
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One CLI run under /usr/bin/time: { seconds, maxRssKiB }. diff exits 0 (nothing to do). */
function timedCli(cli, args) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cli, ...args], {
    encoding: 'utf8',
  });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`netcg ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { seconds: Number(m[1]), maxRssKiB: Number(m[2]) };
}

function measure(count) {
  const ns = createBenchNetns(track);
  const dir = mkdtempSync(join(tmpdir(), 'netcg-bench-fr-'));
  const cgroupParent = uniqueName('ncbfr');
  const untrack = track(() => removeCgroupParent(cgroupParent));
  try {
    const t0 = performance.now();
    addForeignRoutes(ns, count);
    const addMs = performance.now() - t0;
    const file = join(dir, 'netcg.json');
    writeFileSync(file, configText(1, { cgroupParent }));
    const args = (cmd) => [cmd, '-c', file, '--netns', ns.path];
    timedCli(builds[0].cli, args('apply')); // installs; the measured applies find nothing to do
    const out = { count, addMs };
    for (const cmd of ['apply', 'diff']) {
      const runs = new Map(builds.map((b) => [b.name, []]));
      // By turns: a change in the machine's load hits every build alike.
      for (let i = 0; i < repeats; i++)
        for (const b of builds) runs.get(b.name).push(timedCli(b.cli, args(cmd)));
      for (const [name, rs] of runs)
        out[`${cmd}:${name}`] = {
          seconds: median(rs.map((r) => r.seconds)),
          maxRssMiB: median(rs.map((r) => r.maxRssKiB)) / 1024,
        };
    }
    return out;
  } finally {
    ns.remove();
    removeCgroupParent(cgroupParent);
    untrack();
    rmSync(dir, { recursive: true, force: true });
  }
}

cleanupOnSignals();
const rows = [];
try {
  for (const count of counts) {
    const row = measure(count);
    rows.push(row);
    const parts = builds.flatMap((b) =>
      ['apply', 'diff']
        .map((cmd) => {
          const m = row[`${cmd}:${b.name}`];
          return `${cmd} ${m.seconds.toFixed(2)} s ${m.maxRssMiB.toFixed(0)} MiB`;
        })
        .map((t) => (before ? `${b.name} ${t}` : t)),
    );
    process.stdout.write(
      `${String(count).padStart(7)} routes (added in ${(row.addMs / 1000).toFixed(1)} s): ${parts.join(', ')}\n`,
    );
  }
} finally {
  for (const f of cleanupAll()) process.stderr.write(`bench: cleanup: ${f}\n`);
}

const base = rows.find((r) => r.count === 0);
const ratio = (v, b) => (b ? `${(v / b).toFixed(2)}x` : '');
/** One build's columns for one row: apply s, MiB, diff s, MiB, then both against the empty host. */
function cells(r, name) {
  const m = (cmd) => r[`${cmd}:${name}`];
  const b = (cmd) => base?.[`${cmd}:${name}`];
  const vs = (cmd) =>
    `${ratio(m(cmd).seconds, b(cmd)?.seconds)}, ${ratio(m(cmd).maxRssMiB, b(cmd)?.maxRssMiB)}`;
  return [
    m('apply').seconds.toFixed(2),
    m('apply').maxRssMiB.toFixed(0),
    m('diff').seconds.toFixed(2),
    m('diff').maxRssMiB.toFixed(0),
    vs('apply'),
    vs('diff'),
  ];
}
const lines = [
  '# Foreign routes: cost of apply and diff against the host routing table size',
  '',
  `Generated by \`node bench/foreign-routes.mjs\` on ${new Date().toISOString().slice(0, 10)}: one-profile config,`,
  'no-op `netcg apply` and `netcg diff` through the CLI (a fresh process each), in a namespace holding N',
  'foreign IPv6 blackhole routes (main table, proto static). Median of ' +
    `${repeats} runs; time and peak RSS from`,
  '`/usr/bin/time`. Target (issue 10): at most 1.2x the empty host in time and in memory.',
  ...(before
    ? [
        '',
        `"before" is another build (${before}), run by turns with this one ("after") in the same namespaces.`,
      ]
    : []),
  '',
  `| foreign routes |${before ? ' build |' : ''} apply s | apply MiB | diff s | diff MiB | apply vs 0 (time, mem) | diff vs 0 (time, mem) |`,
  `|---:|${before ? '---|' : ''}---:|---:|---:|---:|---:|---:|`,
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
