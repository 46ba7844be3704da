// One measurement of the netlink backend, in a fresh process so its peak RSS
// belongs to one N:
//   node bench/netlink-worker.mjs NETNS N [NETNS2 CGROUP_PARENT]
// NETNS (and NETNS2) must be fresh namespaces with tun0 (scenario.mjs). Prints one
// JSON line on stdout.
//
// In NETNS, the library's apply path minus the cgroup step (which `nft -f` +
// `ip -batch` do not do either, so the comparison is like for like): compile,
// readState, plan, then send the plan (routes and ip rules, one nf_tables batch
// guarded by the dump's generation id) — exactly what src/apply/apply.ts does, timed
// phase by phase. Then the no-op re-apply (the library's diff(): compile +
// readState + plan, asserted empty) and adding one profile (same, plus sending).
// In NETNS2, when given, the library's own apply() as a user gets it, N profile
// cgroups under CGROUP_PARENT included, and apply() again with nothing to change.
// The caller removes CGROUP_PARENT.
import { performance } from 'node:perf_hooks';
import { apply, readState } from '../dist/apply/apply.js';
import { compile } from '../dist/compile/index.js';
import { NetlinkBackend } from '../dist/backends/netlink.js';
import { Reconciler } from '../dist/apply/reconciler.js';
import { isEmptyPlan, plan, splitRtnl } from '../dist/plan/plan.js';
import { benchConfig, TABLE } from './scenario.mjs';

const rssKiB = () => process.resourceUsage().maxRSS;

/** Wall time and this process's CPU time (user + system, ms) of `fn`: on a shared machine the CPU time moves far less with the load. */
function time(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, value };
}

/** compile + readState + plan (the library's diff()), each phase timed into `phases`. */
function planAgainst(config, backend, phases) {
  const c = time(() => compile(config, backend.hostFacts()));
  const links = new Set(backend.links().map((l) => l.name));
  for (const r of c.value.routes)
    if (r.dev && !links.has(r.dev)) throw new Error(`bench: ${r.dev} missing in the namespace`);
  const r = time(() => readState(backend, TABLE));
  const p = time(() => plan(r.value, c.value));
  Object.assign(phases, { compileMs: c.ms, readMs: r.ms, planMs: p.ms });
  return { genid: r.value.genid, desired: c.value, p: p.value };
}

/** Sends a plan the way src/apply/apply.ts does: additions, the nf_tables batch, then removals. */
function sendPlan(p, genid, backend, phases) {
  phases.sendMs = time(() => {
    const { before, after } = splitRtnl(p.rtnl);
    for (const op of before) backend.rtnl(op);
    if (p.nft.length > 0) backend.commitNft(p.nft, genid);
    for (const op of after) backend.rtnl(op);
  }).ms;
}

function planAndSend(config, backend, phases) {
  return time(() => {
    const { genid, desired, p } = planAgainst(config, backend, phases);
    sendPlan(p, genid, backend, phases);
    return { desired, p };
  });
}

/**
 * The long-lived library path (src/apply/reconciler.ts), same process, in NETNS2 where
 * apply() left N profiles. One Reconciler.apply() to learn the state (a full read),
 * then, each from memory (asserted: nf_tables generation unchanged, no dump):
 *   - no-op, diff steps: Reconciler.diff() = compile + GETGEN + rtnl dumps + plan
 *     (like for like with the one-shot no-op column);
 *   - no-op, Reconciler.apply() as a program calls it (lock, N cgroup checks);
 *   - add profile N+1, kernel part: Reconciler.diff() + send its plan guarded by
 *     the remembered genid (like for like with the one-shot add-one column); the
 *     Reconciler then re-learns the state with one apply() (a full read: its own
 *     send moved the generation behind its back);
 *   - add profiles N+2 .. N+6, one Reconciler.apply() each (lock, cgroup checks,
 *     new cgroup): the median.
 */
function measureReconciler(n, backend, config, cgroupParent) {
  const r = new Reconciler(backend);
  const expectCached = (what) => {
    if (r.lastRead !== 'cached')
      throw new Error(
        `bench: Reconciler ${what} read the kernel back (${r.lastRead}) instead of using its memory`,
      );
  };
  /** @type {{ recNoopDiffMs: number[]; recNoopDiffCpuMs: number[]; recNoopApplyMs: number[]; recAddOneApplyMs?: number; recAddOneApplyAllMs?: number[] }} */
  const out = { recNoopDiffMs: [], recNoopDiffCpuMs: [], recNoopApplyMs: [] };
  try {
    r.apply(config);
    for (let i = 0; i < (n >= 10_000 ? 3 : 5); i++) {
      const d = time(() => r.diff(config));
      expectCached('no-op diff');
      if (!isEmptyPlan(d.value.plan)) throw new Error('bench: Reconciler no-op diff planned changes');
      out.recNoopDiffMs.push(d.ms);
      out.recNoopDiffCpuMs.push(d.cpuMs);
      const a = time(() => r.apply(config));
      expectCached('no-op apply');
      if (a.value.changed) throw new Error('bench: Reconciler no-op apply changed something');
      out.recNoopApplyMs.push(a.ms);
    }
    const plus1 = benchConfig(n, { cgroupParent, extra: 1 });
    const add = time(() => {
      const d = time(() => r.diff(plus1));
      expectCached('add-one diff');
      const send = time(() => sendPlan(d.value.plan, d.value.current.genid, backend, {}));
      return { diffMs: d.ms, sendMs: send.ms, ops: d.value.plan.nft.length };
    });
    Object.assign(out, {
      recAddOneMs: add.ms,
      recAddOneDiffMs: add.value.diffMs,
      recAddOneSendMs: add.value.sendMs,
      recAddOneOps: add.value.ops,
    });
    if (r.apply(plus1).plan.nft.length !== 0)
      throw new Error('bench: after the Reconciler added one profile, nf_tables still differs');
    // Consecutive adds, as a program enrolling new profiles makes them: N+2, N+3, ...
    // each one Reconciler.apply() from memory; the median (one sample alone mostly
    // measures whether a GC pause fell into it).
    const applyMs = [];
    let last = plus1;
    for (let k = 2; k <= 6; k++) {
      last = benchConfig(n, { cgroupParent, extra: k });
      const next = last;
      const add2 = time(() => r.apply(next));
      expectCached('add-one apply');
      if (!add2.value.changed || add2.value.cgroups.filter((c) => c.action === 'created').length !== 1)
        throw new Error('bench: Reconciler add-one apply did not add exactly one profile');
      applyMs.push(add2.ms);
    }
    out.recAddOneApplyMs = applyMs.sort((a, b) => a - b)[applyMs.length >> 1];
    out.recAddOneApplyAllMs = applyMs;
    if (!isEmptyPlan(r.diff(last).plan))
      throw new Error('bench: after the Reconciler apply, the state still differs');
  } finally {
    r.close();
  }
  return out;
}

const [netns, nArg, netns2, cgroupParent] = process.argv.slice(2);
const n = Number(nArg);
if (!netns || !Number.isInteger(n) || n < 1 || (netns2 && !cgroupParent)) {
  process.stderr.write('usage: node bench/netlink-worker.mjs NETNS N [NETNS2 CGROUP_PARENT]\n');
  process.exit(2);
}

const baselineRssKiB = rssKiB();
const parse = time(() => ({ config: benchConfig(n), grown: benchConfig(n, { extra: 1 }) }));
const { config, grown } = parse.value;
const backend = new NetlinkBackend(netns);
const result = { n, parseMs: parse.ms, baselineRssKiB };
try {
  const existing = readState(backend, TABLE);
  if (existing.table || existing.ipRules.length > 0 || existing.routes.length > 0)
    throw new Error('bench: namespace is not fresh');
  result.freshPhases = {};
  const fresh = planAndSend(config, backend, result.freshPhases);
  result.freshMs = fresh.ms;
  result.freshCpuMs = fresh.cpuMs;
  result.applyRssKiB = rssKiB();
  result.rules = fresh.value.desired.table.chains.reduce((k, c) => k + c.rules.length, 0);
  result.ipRules = fresh.value.desired.ipRules.length;
  result.routes = fresh.value.desired.routes.length;

  // Fewer repeats at 10k, where one re-apply takes seconds: the run must stay bounded.
  result.noopRunsMs = [];
  result.noopRunsCpuMs = [];
  result.noopPhases = [];
  for (let i = 0; i < (n >= 10_000 ? 3 : 5); i++) {
    const phases = {};
    const r = time(() => planAgainst(config, backend, phases));
    if (!isEmptyPlan(r.value.p))
      throw new Error(
        `bench: re-apply of an unchanged config planned ${r.value.p.nft.length} nft + ${r.value.p.rtnl.length} rtnl ops`,
      );
    result.noopRunsMs.push(r.ms);
    result.noopRunsCpuMs.push(r.cpuMs);
    result.noopPhases.push(phases);
  }

  result.addOnePhases = {};
  const addOne = planAndSend(grown, backend, result.addOnePhases);
  result.addOneMs = addOne.ms;
  result.addOneCpuMs = addOne.cpuMs;
  result.addOneOps = { nft: addOne.value.p.nft.length, rtnl: addOne.value.p.rtnl.length };
  if (!isEmptyPlan(planAgainst(grown, backend, {}).p))
    throw new Error('bench: after adding one profile, the state still differs from the config');
  result.endRssKiB = rssKiB();
} finally {
  backend.close();
}

if (netns2) {
  const withCgroups = benchConfig(n, { cgroupParent });
  const b2 = new NetlinkBackend(netns2);
  try {
    const full = time(() => apply(withCgroups, b2));
    if (full.value.cgroups.filter((c) => c.action === 'created').length !== n)
      throw new Error('bench: apply() did not create the N profile cgroups');
    const again = time(() => apply(withCgroups, b2));
    if (again.value.changed) throw new Error('bench: apply() of an unchanged config changed something');
    Object.assign(result, { libApplyMs: full.ms, libApplyCpuMs: full.cpuMs, libReapplyMs: again.ms });
    Object.assign(result, measureReconciler(n, b2, withCgroups, cgroupParent));
  } finally {
    b2.close();
  }
}

process.stdout.write(`${JSON.stringify(result)}\n`);
