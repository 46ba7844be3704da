// One measurement of the netlink backend, in a fresh process so its peak RSS
// belongs to one N: `node bench/netlink-worker.mjs NETNS N`. NETNS must be a fresh
// namespace with tun0 (scenario.mjs). Prints one JSON line on stdout.
//
// "fresh apply" is what src/apply.ts does for a new namespace minus the cgroup
// step (which `nft -f` + `ip -batch` do not do either, so the comparison is like
// for like): compile against the namespace's facts, check interfaces, read owned
// state, add routes then ip rules, replace the table in one batch.
// "no-op re-apply" and "add one profile" use the planner: dump, plan, and (for
// add-one) send exactly the plan.
import { performance } from 'node:perf_hooks';
import { compile } from '../dist/compile/index.js';
import { NetlinkBackend } from '../dist/backends/netlink.js';
import { openHandle } from '../dist/native/index.js';
import { isEmptyPlan, plan, splitRtnl } from '../dist/plan/plan.js';
import { benchConfig, TABLE } from './scenario.mjs';
import { readCurrent } from './read-state.mjs';

const rssKiB = () => process.resourceUsage().maxRSS;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(fn) {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

function freshApply(config, backend, phases) {
  const c = time(() => compile(config, backend.hostFacts()));
  const desired = c.value;
  const links = new Set(backend.links().map((l) => l.name));
  for (const r of desired.routes) if (!links.has(r.dev)) throw new Error(`bench: ${r.dev} missing in the namespace`);
  const owned = backend.readOwned(desired.table.name);
  if (owned.tableExists || owned.ipRules.length > 0 || owned.routes.length > 0) throw new Error('bench: namespace is not fresh');
  const rtnl = time(() => {
    for (const route of desired.routes) backend.rtnl({ verb: 'add', kind: 'route', route });
    for (const rule of desired.ipRules) backend.rtnl({ verb: 'add', kind: 'rule', rule });
  });
  const table = time(() => backend.replaceTable(desired.table));
  Object.assign(phases, { compileMs: c.ms, rtnlMs: rtnl.ms, tableMs: table.ms });
  return desired;
}

/** Compile, read back, plan: what a re-apply does before it sends anything. `phases` gets each step's ms. */
function planAgainst(config, backend, handle, phases = {}) {
  const c = time(() => compile(config, backend.hostFacts()));
  const r = time(() => readCurrent(handle, TABLE));
  const p = time(() => plan(r.value.current, c.value));
  Object.assign(phases, { compileMs: c.ms, readMs: r.ms, planMs: p.ms });
  return { genid: r.value.genid, p: p.value };
}

function sendPlan(p, genid, backend, handle) {
  const { before, after } = splitRtnl(p.rtnl);
  for (const op of before) backend.rtnl(op);
  if (p.nft.length > 0) handle.nftCommit(p.nft, { genid });
  for (const op of after) backend.rtnl(op);
}

const [netns, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!netns || !Number.isInteger(n) || n < 1) {
  process.stderr.write('usage: node bench/netlink-worker.mjs NETNS N\n');
  process.exit(2);
}

const baselineRssKiB = rssKiB();
const parse = time(() => ({ config: benchConfig(n), grown: benchConfig(n, { extra: 1 }) }));
const { config, grown } = parse.value;
const backend = new NetlinkBackend(netns);
const handle = openHandle(netns);
try {
  const freshPhases = {};
  const fresh = time(() => freshApply(config, backend, freshPhases));
  const applyRssKiB = rssKiB();
  const rules = fresh.value.table.chains.reduce((k, c) => k + c.rules.length, 0);

  const noops = [];
  const noopPhases = [];
  // Fewer repeats at 10k, where one re-apply takes seconds: the run must stay bounded.
  const noopRepeats = n >= 10_000 ? 3 : 5;
  for (let i = 0; i < noopRepeats; i++) {
    const phases = {};
    const r = time(() => planAgainst(config, backend, handle, phases));
    noopPhases.push(phases);
    if (!isEmptyPlan(r.value.p)) throw new Error(`bench: re-apply of an unchanged config planned ${r.value.p.nft.length} nft + ${r.value.p.rtnl.length} rtnl ops`);
    noops.push(r.ms);
  }

  const addOnePhases = {};
  const addOne = time(() => {
    const { genid, p } = planAgainst(grown, backend, handle, addOnePhases);
    addOnePhases.sendMs = time(() => sendPlan(p, genid, backend, handle)).ms;
    return p;
  });
  const after = planAgainst(grown, backend, handle).p;
  if (!isEmptyPlan(after)) throw new Error('bench: after adding one profile, the state still differs from the config');

  process.stdout.write(`${JSON.stringify({
    n,
    parseMs: parse.ms,
    freshMs: fresh.ms,
    freshPhases,
    noopMs: median(noops),
    noopRunsMs: noops,
    noopPhases,
    addOneMs: addOne.ms,
    addOnePhases,
    addOneOps: { nft: addOne.value.nft.length, rtnl: addOne.value.rtnl.length },
    rules,
    ipRules: fresh.value.ipRules.length,
    routes: fresh.value.routes.length,
    baselineRssKiB,
    applyRssKiB,
    endRssKiB: rssKiB(),
  })}\n`);
} finally {
  handle.close();
  backend.close();
}
