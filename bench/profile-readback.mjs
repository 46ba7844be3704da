#!/usr/bin/env node
// Where a re-apply's time goes, finer than the bench's phases: the raw nf_tables
// dump (addon), tableFromDump, the rtnetlink read-back, plan, and the same for
// adding one profile and a fresh apply. For profiling work on read-back/plan, not
// part of `npm run bench`.
//   node bench/profile-readback.mjs [N=10000] [REPEATS=3]
// Add `--cpu-prof` to node to get a V8 profile of the whole run.
// Works in one throwaway namespace (scenario.mjs), removed at the end.
import { performance } from 'node:perf_hooks';
import { readState } from '../dist/apply/apply.js';
import { compile } from '../dist/compile/index.js';
import { NetlinkBackend } from '../dist/backends/netlink.js';
import { openHandle } from '../dist/native/index.js';
import { isEmptyPlan, plan } from '../dist/plan/plan.js';
import { tableFromDump } from '../dist/state/from-dump.js';
import { readTape } from '../dist/state/nft-tape.js';
import { cleanupAll, cleanupOnSignals, track } from './cleanup.mjs';
import { benchConfig, createBenchNetns, TABLE } from './scenario.mjs';

const n = Number(process.argv[2] ?? 10_000);
const repeats = Number(process.argv[3] ?? 3);
const ms = (t0) => (performance.now() - t0).toFixed(1);

function timed(label, fn) {
  const t0 = performance.now();
  const v = fn();
  process.stdout.write(`${label.padEnd(34)} ${ms(t0).padStart(8)} ms\n`);
  return v;
}

cleanupOnSignals();
const ns = createBenchNetns(track);
try {
  const backend = new NetlinkBackend(ns.path);
  const raw = openHandle(ns.path);
  const config = benchConfig(n);
  const grown = benchConfig(n, { extra: 1 });
  try {
    const desired = compile(config, backend.hostFacts());
    const fresh = timed('fresh: readState', () => readState(backend, TABLE));
    const fp = timed('fresh: plan', () => plan(fresh, desired));
    timed('fresh: commitNft', () => backend.commitNft(fp.nft, fresh.genid));
    for (const op of fp.rtnl) backend.rtnl(op);

    for (let i = 0; i < repeats; i++) {
      process.stdout.write(`-- re-apply ${i + 1}\n`);
      const dump = timed('nftDump (addon)', () => raw.nftDump({ family: 'inet', table: TABLE }));
      timed('tableFromDump', () => tableFromDump(dump, TABLE));
      const tape = timed('nftDump tape (addon)', () =>
        raw.nftDump({ family: 'inet', table: TABLE }, { tape: true }),
      );
      timed('readTape', () => readTape(tape));
      timed('nftGenid', () => raw.nftGenid());
      const state = timed('readState (all)', () => readState(backend, TABLE));
      const p = timed('plan (no-op)', () => plan(state, desired));
      if (!isEmptyPlan(p)) throw new Error('no-op plan is not empty');
    }
    process.stdout.write('-- add one\n');
    const desired2 = compile(grown, backend.hostFacts());
    const state = timed('readState', () => readState(backend, TABLE));
    const p = timed('plan (add one)', () => plan(state, desired2));
    timed('commitNft', () => backend.commitNft(p.nft, state.genid));
    process.stdout.write(`add one: ${p.nft.length} nft ops\n`);
  } finally {
    raw.close();
    backend.close();
  }
} finally {
  ns.remove();
  cleanupAll?.();
}
