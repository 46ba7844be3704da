#!/usr/bin/env node
// Config loading time (issue 3: every CLI command loads the config first), for
// N = 1, 100, 1,000 and 10,000 profiles as bench/scenario.mjs makes them (classid
// 1000+i, DNS redirect, IPv6 reject, route via tun0), written as YAML and as JSON:
//   - cold: the first loadConfig in a fresh node process (what a CLI command pays;
//     module loading is not included);
//   - warm: a later loadConfig in the same process;
//   - mistake: cold, the YAML file with one bad classid in its last profile (the
//     path that locates issues in the source).
// Median of --reps runs each. Prints a table; no root, no namespaces, nothing kept.
//
//   npm run build:ts && node bench/config-load.mjs [--reps 5] [--sizes 1,100,1000,10000]
//   node bench/config-load.mjs --loader /tmp/old/config/index.js   # another build, to compare
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    sizes: { type: 'string', default: '1,100,1000,10000' },
    loader: { type: 'string', default: join(here, '..', 'dist', 'config', 'index.js') },
  },
});
const REPS = Number(opts.reps);
const SIZES = opts.sizes.split(',').map(Number);
const LOADER = pathToFileURL(resolve(opts.loader)).href;

/** Block YAML, one key per line, as people write it; `badLast` puts classid 0 in the last profile. */
function yamlText(n, badLast = false) {
  const lines = ['table: netcg', 'cgroupParent: netcg-bench', 'profiles:'];
  for (let i = 0; i < n; i++) {
    const classid = badLast && i === n - 1 ? 0 : 1000 + i;
    lines.push(
      `  p${i}:`,
      `    classid: ${classid}`,
      '    dns:',
      '      redirect: 5354',
      '    ipv6: reject',
      '    route:',
      '      via: tun0',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The JSON bench/scenario.mjs writes. */
function jsonText(n) {
  const profiles = {};
  for (let i = 0; i < n; i++)
    profiles[`p${i}`] = {
      classid: 1000 + i,
      dns: { redirect: 5354 },
      ipv6: 'reject',
      route: { via: 'tun0' },
    };
  return JSON.stringify({ table: 'netcg', cgroupParent: 'netcg-bench', profiles });
}

/** Milliseconds of the first loadConfig in a fresh process (errors are expected for the mistake file). */
const COLD = `
const { loadConfig } = await import(process.argv[1]);
const t = performance.now();
try { loadConfig(process.argv[2]); } catch {}
console.log(performance.now() - t);
`;
function cold(file) {
  return Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', COLD, LOADER, file], {
      encoding: 'utf8',
    }).trim(),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => (x < 10 ? x.toFixed(1) : x.toFixed(0));

const { loadConfig } = await import(LOADER);
function warm(file) {
  loadConfig(file); // warms the JIT on this size
  const times = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    loadConfig(file);
    times.push(performance.now() - t);
  }
  return median(times);
}

const dir = mkdtempSync(join(tmpdir(), 'netcg-bench-config-'));
try {
  const rows = [];
  for (const n of SIZES) {
    const files = {
      yaml: join(dir, `${n}.yaml`),
      json: join(dir, `${n}.json`),
      bad: join(dir, `${n}-bad.yaml`),
    };
    writeFileSync(files.yaml, yamlText(n));
    writeFileSync(files.json, jsonText(n));
    writeFileSync(files.bad, yamlText(n, true));
    const coldOf = (file) => median(Array.from({ length: REPS }, () => cold(file)));
    rows.push([
      n,
      coldOf(files.yaml),
      warm(files.yaml),
      coldOf(files.json),
      warm(files.json),
      coldOf(files.bad),
    ]);
    process.stderr.write(`  ${n} done\n`);
  }
  const header = [
    'profiles',
    'YAML cold ms',
    'YAML warm ms',
    'JSON cold ms',
    'JSON warm ms',
    'mistake cold ms',
  ];
  const table = [header, ...rows.map(([n, ...t]) => [n.toLocaleString('en-US'), ...t.map(ms)])];
  const widths = header.map((_, c) => Math.max(...table.map((r) => String(r[c]).length)));
  console.log(`config loading, median of ${REPS} (loader: ${opts.loader})`);
  for (const r of table) console.log(r.map((cell, c) => String(cell).padStart(widths[c])).join('  '));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
