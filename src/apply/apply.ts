// apply, diff and down: the one place that sequences kernel effects.
//
// apply reads netcg's objects back, plans the difference (src/plan) and executes
// exactly that plan. Order is chosen so that a failure at any step leaves the
// kernel as it was:
//   1. everything that can be checked is checked first (config, interfaces);
//   2. cgroups, then rtnetlink additions (routes before the rules that point at
//      them), each undone in reverse if a later step fails;
//   3. all nf_tables changes in ONE batch, guarded by the generation id of the dump
//      the plan was made from: if anyone changed nf_tables meanwhile, the kernel
//      refuses the batch (ERESTART) and apply re-reads and re-plans;
//   4. rtnetlink removals; if one fails, the table is planned back to what it was
//      and the additions are undone.
import {
  AllocationError,
  locateKey,
  withHostNumbers,
  type Config,
  type MatchKind,
  type ProfileConfig,
} from '../config/index.js';
import { GATEWAY_AUTO } from '../config/schema.js';
import { compileSession, compileSysctls, gatewayDevicesOf, type CompileSession } from '../compile/index.js';
import { ensureSysctls, type SysctlChange } from './sysctls.js';
import { NetcgError } from '../shared/errors.js';
import type { CgroupSpec, DesiredState, ExistingCgroup, HostFacts, TableState } from '../shared/model.js';
import { findCgroup2, removeV2ProfileCgroup } from '../cgroups/cgroup2.js';
import { netClsAvailable } from '../cgroups/match.js';
import type { CgroupMemory } from '../cgroups/verified.js';
import type { Backend, HostFactsQuery, ReadState, RouteTables, RtnlOp } from '../backends/types.js';
import {
  findNetCls,
  listProfileCgroups,
  removeParentIfEmpty,
  removeProfileCgroup,
  type CgroupChange,
  type NetClsHierarchy,
} from '../cgroups/netcls.js';
import { changeUnfinished, lockNamespace, markUnfinished } from './lock.js';
import type { NftOp } from '../native/types.js';
import { isEmptyPlan, plan, splitRtnl, summarize, type Plan, type PlanSummary } from '../plan/plan.js';
import { readExistingCgroups } from '../cgroups/existing.js';
import { serverUids } from '../cgroups/users.js';
import {
  cgroup2Ids,
  currentCgroup2Ids,
  existingCgroups,
  ensureCgroups,
  mountHierarchies,
  newCgroupRun,
  removeStaleCgroups,
  type CgroupRun,
} from './cgroups.js';
import { UndoLog } from './undo.js';

/** How often apply re-reads and re-plans when nf_tables changed under it. */
export const MAX_ATTEMPTS = 5;

export interface ApplyReport {
  backend: string;
  /** The plan that was executed (empty: the kernel already matched). */
  plan: Plan;
  summary: PlanSummary;
  /** False when nothing was sent to the kernel. */
  changed: boolean;
  /** Plans made; more than 1 when a concurrent nf_tables change forced a re-plan. */
  attempts: number;
  table: { family: 'inet'; name: string; maps: number; chains: number; rules: number };
  cgroups: CgroupChange[];
  /** How each profile's members are matched on this host (`match: auto` resolved). */
  matches: ProfileMatch[];
  /** The net_cls hierarchy; absent when no profile uses net_cls. */
  netCls?: NetClsHierarchy;
  /** The cgroup2 mount point; absent when no profile uses cgroup v2. */
  cgroup2?: string;
  /** Sysctls of the target namespace netcg had to set (e.g. src_valid_mark for strict rp_filter); empty when all were right. */
  sysctls: SysctlChange[];
  /** The routing tables and marks netcg picked (profiles that set neither nor a classid). */
  numbers: PickedNumbers[];
  warnings: string[];
}

/** A profile's routing table and mark, picked by netcg (docs/config.md, "Numbers netcg picks"). */
export interface PickedNumbers {
  profile: string;
  via: string;
  table: number;
  mark: number;
}

/** The numbers netcg picked for `config`'s profiles, in config order. */
export function pickedNumbers(config: Config): PickedNumbers[] {
  const out: PickedNumbers[] = [];
  for (const p of Object.values(config.profiles))
    if (p.route?.allocated)
      out.push({ profile: p.name, via: p.route.via, table: p.route.table, mark: p.route.mark });
  return out;
}

/**
 * `config` with its picked numbers checked against what the host uses (foreign
 * routes and ip rules): the same object unless one collides (src/config/allocate.ts).
 */
export function onHost(config: Config, backend: Backend): Config {
  if (!backend.hostNumbers) return config;
  let any = false;
  for (const name in config.profiles) if (config.profiles[name]!.route?.allocated) any = true;
  if (!any) return config;
  try {
    return withHostNumbers(config, backend.hostNumbers());
  } catch (err) {
    if (!(err instanceof AllocationError)) throw err;
    throw new NetcgError(
      'ENOTABLE',
      `${config.file}: every routing table/mark netcg could pick for ${err.key} is in use on this host; set route.table (and route.mark) for those profiles`,
      { cause: err },
    );
  }
}

export interface ProfileMatch {
  profile: string;
  /** What the config asked for (auto when it says nothing). */
  requested: MatchKind;
  /** What netcg uses: net_cls (classid, `meta cgroup`) or cgroupv2 (ID, `socket cgroupv2`). */
  match: CgroupSpec['hierarchy'];
  /** The profile's cgroup directory. */
  cgroup: string;
  /** The cgroup2 ID matched (cgroupv2 only), as a decimal string. */
  id?: string;
  /**
   * Existing-cgroup profiles (`cgroup:`; `cgroup` above is then the pattern): the
   * cgroups matched now, their IDs in decimal. Empty: the profile is waiting.
   */
  existing?: Array<{ path: string; id: string }>;
  /** Present (true) when an existing-cgroup profile matches no cgroup yet: everything else is installed, its map elements follow the cgroup (netcg watch). */
  waiting?: true;
}

export interface DownReport {
  backend: string;
  table: { name: string; deleted: boolean };
  ipRules: ReadState['ipRules'];
  routes: ReadState['routes'];
  cgroups: CgroupChange[];
}

function invert(op: RtnlOp): RtnlOp {
  return { ...op, verb: op.verb === 'add' ? 'del' : 'add' } as RtnlOp;
}

/** Refuses, before any change, a state that names interfaces the namespace does not have. */
function checkInterfaces(desired: DesiredState, backend: Backend, config: Config): void {
  const names = new Set(backend.links().map((l) => l.name));
  // Fail-closed routes have no device ('').
  const missing = [...new Set(desired.routes.map((r) => r.dev))].filter((d) => d !== '' && !names.has(d));
  if (missing.length === 0) return;
  const users = Object.entries(config.profiles)
    .filter(([, p]) => p.route && missing.includes(p.route.via))
    .map(([name, p]) => {
      const at = locateKey(config.file, ['profiles', name, 'route', 'via']);
      return `profile ${name} (${at ? `${config.file}:${at.line}:${at.col}: ` : ''}route.via: ${p.route!.via})`;
    });
  throw new NetcgError(
    'ENODEV',
    `interface ${missing.join(', ')} does not exist in the target network namespace; needed by ${users.join(', ')}. Nothing was changed.`,
  );
}

function tableCounts(t: TableState): ApplyReport['table'] {
  return {
    family: 'inet',
    name: t.name,
    maps: t.maps.length,
    chains: t.chains.length,
    rules: t.chains.reduce((n, c) => n + c.rules.length, 0),
  };
}

/**
 * Reads netcg's objects; backends that cannot decode tables report none (the plan then rebuilds the table).
 * Routes are looked for in `routeTables` and the tables of netcg's ip rules, or everywhere without it.
 */
export function readState(backend: Backend, table: string, routeTables?: RouteTables): ReadState {
  if (backend.readState) return backend.readState(table, routeTables);
  const owned = backend.readOwned(table);
  return { ipRules: owned.ipRules, routes: owned.routes };
}

/** Sends a plan's nf_tables part: the ops themselves where the backend can, else the whole desired table. */
function commitTable(backend: Backend, ops: NftOp[], desired: TableState, genid: number | undefined): void {
  if (backend.commitNft) backend.commitNft(ops, genid);
  else backend.replaceTable(desired);
}

/** Puts netcg's table back to `previous` (or deletes it when there was none) after a failure later in apply. */
function restoreTable(backend: Backend, previous: TableState | undefined, name: string): void {
  if (!previous) {
    backend.deleteTable(name);
    return;
  }
  if (!backend.readState || !backend.commitNft) {
    backend.replaceTable(previous);
    return;
  }
  const now = backend.readState(name, new Set()); // only its nf_tables part is used
  const back = plan(
    { table: now.table, ipRules: [], routes: [] },
    { table: previous, ipRules: [], routes: [], cgroups: [] },
  );
  backend.commitNft(back.nft.length > 0 ? back.nft : [], now.genid);
}

/** The routing tables `desired` puts routes in or points ip rules at. */
export function routeTablesOf(desired: DesiredState): RouteTables {
  return new Set([...desired.routes.map((r) => r.table), ...desired.ipRules.map((r) => r.table)]);
}

/**
 * Where to look for netcg's routes: the desired state's tables (and its current ip rules' ones, added by
 * the backend), or every table after a change that did not finish (src/apply/lock.ts says why).
 */
function routeScope(desired: DesiredState, everyTable: boolean): RouteTables | undefined {
  return everyTable ? undefined : routeTablesOf(desired);
}

/** What `netcg diff` shows and `netcg apply` would do. Reads only. */
export function diff(config: Config, backend: Backend): DiffResult {
  return diffWith(config, backend, READ_EVERY_TIME);
}

export interface DiffResult {
  plan: Plan;
  desired: DesiredState;
  current: ReadState;
  /** The config compared: the one given, with picked numbers moved off any the host uses (see onHost). */
  config: Config;
  /** Existing-cgroup profiles (`cgroup:`): the cgroups their patterns match now (empty: waiting). */
  existing: Record<string, readonly ExistingCgroup[]>;
}

/** The existing-cgroup profiles that match no cgroup yet, with their patterns, in config order. */
export function waitingProfiles(
  result: Pick<DiffResult, 'config' | 'existing'>,
): Array<{ profile: string; cgroup: string }> {
  return Object.values(result.config.profiles)
    .filter((p) => p.cgroup !== undefined && (result.existing[p.name]?.length ?? 0) === 0)
    .map((p) => ({ profile: p.name, cgroup: p.cgroup! }));
}

/** diff() with the current state from `source` (the Reconciler's memory). */
export function diffWith(given: Config, backend: Backend, source: StateSource): DiffResult {
  const config = onHost(given, backend);
  const facts = hostFactsOf(backend, config);
  const v2 = findCgroup2();
  // The IDs of the v2 cgroups as they are now: a re-created cgroup shows as a stale element.
  const session = compileSession();
  if (facts.cgroups && v2) {
    const specs = session.cgroups(config, facts).filter((c) => c.hierarchy === 'cgroupv2');
    facts.cgroups.ids = currentCgroup2Ids(v2, config.cgroupParent, specs, source.cgroups);
    facts.cgroups.existing = readExistingCgroups(v2, specs);
  }
  const desired = session.compile(config, facts);
  const scope = routeScope(desired, changeUnfinished(backend.netns));
  const { current, plan: p } = source.planFor(backend, desired, scope);
  return { plan: p, desired, current, config, existing: facts.cgroups?.existing ?? {} };
}

export function apply(config: Config, backend: Backend): ApplyReport {
  return applyWith(config, backend, READ_EVERY_TIME);
}

/**
 * Where apply gets "what the kernel has" and whom it tells what it left. The
 * one-shot apply reads everything back every time; the Reconciler (src/apply/reconciler.ts)
 * answers from memory while the nf_tables generation id says nothing changed.
 */
export interface StateSource {
  /** The current state and the plan from it to `desired`; netcg's routes are looked for in `routeTables` (see readState). */
  planFor(
    backend: Backend,
    desired: DesiredState,
    routeTables: RouteTables | undefined,
  ): { current: ReadState; plan: Plan };
  /**
   * The plan was executed completely. `table` is netcg's table now (the desired one),
   * `genid` the generation our own batch produced: the guard + 1 when one was sent,
   * else the generation the plan was made at.
   */
  committed(backend: Backend, table: TableState, genid: number | undefined): void;
  /** Something failed or raced: nothing remembered may be trusted any more. */
  invalidate(): void;
  /** The profile cgroups verified by earlier applies (the Reconciler's); absent: check every one. */
  readonly cgroups?: CgroupMemory;
}

const READ_EVERY_TIME: StateSource = {
  planFor(backend, desired, routeTables) {
    const current = readState(backend, desired.table.name, routeTables);
    return { current, plan: plan(current, desired) };
  },
  committed() {},
  invalidate() {},
};

/** apply() with the current state from `source`; shared by apply and the Reconciler. */
export function applyWith(config: Config, backend: Backend, source: StateSource): ApplyReport {
  const release = lockNamespace(backend.netns);
  try {
    const everyTable = changeUnfinished(backend.netns);
    const finished = markUnfinished(backend.netns);
    const report = applyLocked(config, backend, source, everyTable);
    finished();
    return report;
  } catch (err) {
    source.invalidate();
    throw err;
  } finally {
    release();
  }
}

/** The generation after one successful commit guarded by `genid` (0 is skipped on wrap, as the kernel does). */
export function nextGenid(genid: number): number {
  const next = (genid + 1) >>> 0;
  return next === 0 ? 1 : next;
}

function isGenerationRace(err: unknown): boolean {
  return (err as { code?: string }).code === 'ERESTART';
}

/**
 * What hostFacts reads for `config`: the main table's link routes when a profile copies them, the
 * main-table default gateways of its `gateway: auto` vias. Nothing else reads the main table, so a
 * config that needs neither costs the same on a host with a full routing table as on an empty one.
 */
export function hostFactsQuery(config: Config): HostFactsQuery {
  const profiles = Object.values(config.profiles);
  return {
    // A fixed gateway counts while it is on-link: compile looks for it in via's link routes.
    linkRoutes: profiles.some(
      (p) =>
        p.route?.copyLinkRoutes === true ||
        [p.route?.gateway, p.route?.gateway6].some((g) => g !== undefined && g !== GATEWAY_AUTO),
    ),
    gatewayDevices: gatewayDevicesOf(profiles),
  };
}

/** The host's facts plus which hierarchies exist (IDs are added once the cgroups do). */
function withCgroupFacts(facts: HostFacts): HostFacts & { cgroups: NonNullable<HostFacts['cgroups']> } {
  return { ...facts, cgroups: { netCls: netClsAvailable(), ids: {} } };
}

/** What the backend reads for `config`, plus the uids of the `dns.server`/`proxy.server` user names (from the user database). */
export function readHostFacts(backend: Backend, config: Config): HostFacts {
  return { ...backend.hostFacts(hostFactsQuery(config)), users: serverUids(config) };
}

/** The host's facts for `config` plus which hierarchies exist. */
export function hostFactsOf(
  backend: Backend,
  config: Config,
): HostFacts & { cgroups: NonNullable<HostFacts['cgroups']> } {
  return withCgroupFacts(readHostFacts(backend, config));
}

/** `specs` are in `profiles`' order (compile keeps the config's order). */
function matchesOf(
  profiles: readonly ProfileConfig[],
  specs: readonly CgroupSpec[],
  roots: { netCls?: string; cgroup2?: string },
  facts: NonNullable<HostFacts['cgroups']>,
): ProfileMatch[] {
  const { ids } = facts;
  return specs.map((c, i) => {
    const root = c.hierarchy === 'net_cls' ? roots.netCls : roots.cgroup2;
    const m: ProfileMatch = {
      profile: c.profile,
      requested: profiles[i]?.match ?? 'auto',
      match: c.hierarchy,
      cgroup: `${root}/${c.path}`,
    };
    if (c.existing) {
      m.existing = (facts.existing?.[c.profile] ?? []).map((e) => ({ path: e.path, id: e.id.toString() }));
      if (m.existing.length === 0) m.waiting = true;
      return m;
    }
    const id = ids[c.profile];
    if (c.hierarchy === 'cgroupv2' && id !== undefined) m.id = id.toString();
    return m;
  });
}

/** What one attempt executed. */
interface Executed {
  desired: DesiredState;
  current: ReadState;
  plan: Plan;
  facts: HostFacts & { cgroups: NonNullable<HostFacts['cgroups']> };
  /** Whether an nf_tables batch (or a whole table) was sent. */
  sentNft: boolean;
}

function applyLocked(given: Config, backend: Backend, source: StateSource, everyTable: boolean): ApplyReport {
  const config = onHost(given, backend);
  const session = compileSession();
  // Read once per apply: the link routes are a dump of the main table, whose size is the host's.
  const hostFacts = readHostFacts(backend, config);
  const hierarchies = mountHierarchies(session.cgroups(config, withCgroupFacts(hostFacts)));
  for (let attempt = 1; ; attempt++) {
    const run = newCgroupRun(hierarchies, config.cgroupParent, source.cgroups);
    const undo = new UndoLog();
    let done: Executed;
    try {
      done = executeAttempt({ config, hostFacts, backend, source, session, everyTable }, run, undo);
    } catch (err) {
      source.invalidate();
      undo.rollback();
      if (isGenerationRace(err) && attempt < MAX_ATTEMPTS) continue;
      throw isGenerationRace(err) ? raceLost(err, attempt) : err;
    }
    source.committed(backend, done.desired.table, genidAfter(done));
    const warnings = removeStaleCgroups(run);
    // After the commit, so a failed apply changes no sysctl either.
    const sysctls = ensureSysctls(backend.netns, compileSysctls(config));
    return applyReport(config, backend, session, run, done, { attempts: attempt, sysctls, warnings });
  }
}

/** What every attempt of one apply shares. */
interface AttemptInputs {
  config: Config;
  /** The host's facts, read once per apply (a re-plan after a genid race is about nf_tables, not routes). */
  hostFacts: HostFacts;
  backend: Backend;
  source: StateSource;
  session: CompileSession;
  /** Look for netcg's routes in every routing table (the last change did not finish). */
  everyTable: boolean;
}

/**
 * One attempt, in the order that keeps a failure harmless: check, cgroups, compile
 * with their IDs, plan, execute. Every effect pushes its inverse on `undo`.
 */
function executeAttempt(
  { config, hostFacts, backend, source, session, everyTable }: AttemptInputs,
  run: CgroupRun,
  undo: UndoLog,
): Executed {
  const facts = withCgroupFacts(hostFacts);
  // Without cgroup v2 profiles there are no IDs to add: this is already the desired state.
  let desired = session.compile(config, facts);
  checkInterfaces(desired, backend, config);
  ensureCgroups(run, undo);
  // IDs only exist once the cgroups do; compile stays pure and gets them as facts.
  if (run.h.cgroup2) {
    facts.cgroups.ids = cgroup2Ids(run);
    facts.cgroups.existing = existingCgroups(run);
    desired = session.compile(config, facts);
  }
  const { current, plan: p } = source.planFor(backend, desired, routeScope(desired, everyTable));
  const sentNft = executePlan(backend, p, desired.table, current, undo, config);
  return { desired, current, plan: p, facts, sentNft };
}

/**
 * The kernel refused a route through a gateway (not on `via`'s subnet, `via` down): the
 * error names the profile's route.gateway key and what the kernel needs. Undefined for
 * any other failure. Members meanwhile get the table's unreachable route, if any.
 */
function gatewayRefused(op: RtnlOp, err: unknown, config: Config): NetcgError | undefined {
  if (op.kind !== 'route' || op.verb !== 'add' || op.route.gateway === undefined) return undefined;
  const r = op.route;
  const key = r.family === 4 ? 'gateway' : 'gateway6';
  const users = Object.entries(config.profiles)
    .filter(([, p]) => p.route?.table === r.table)
    .map(([name, p]) => {
      const at = locateKey(config.file, [
        'profiles',
        name,
        'route',
        p.route![key] !== undefined ? key : 'gateway',
      ]);
      return `profile ${name} (${at ? `${config.file}:${at.line}:${at.col}: ` : ''}route.${key}: ${p.route![key]})`;
    });
  const code = (err as { code?: string }).code ?? 'ERTNL';
  return new NetcgError(
    code,
    `the kernel refused default via ${r.gateway} dev ${r.dev} in table ${r.table} for ${users.join(', ')}: ${(err as Error).message}; the gateway must be an address on ${r.dev}'s subnet (or a link-local IPv6 address) and ${r.dev} must be up. Nothing was changed.`,
    { cause: err },
  );
}

/** rtnetlink additions, the nf_tables batch (guarded by the read's genid), rtnetlink removals. Returns whether nf_tables was sent. */
function executePlan(
  backend: Backend,
  p: Plan,
  desired: TableState,
  current: ReadState,
  undo: UndoLog,
  config: Config,
): boolean {
  const { before, after } = splitRtnl(p.rtnl);
  for (const op of before) {
    try {
      backend.rtnl(op);
    } catch (err) {
      throw gatewayRefused(op, err, config) ?? err;
    }
    undo.push(() => backend.rtnl(invert(op)));
  }
  const sendNft = p.nft.length > 0 || (!backend.commitNft && !isEmptyPlan(p));
  if (sendNft) {
    commitTable(backend, p.nft, desired, current.genid);
    undo.push(() => restoreTable(backend, current.table, desired.name));
  }
  for (const op of after) {
    try {
      backend.rtnl(op);
    } catch (err) {
      // Already gone is what a removal wants (someone removed it since the read).
      if (op.verb === 'del' && ['ENOENT', 'ESRCH'].includes((err as { code?: string }).code ?? '')) continue;
      throw err;
    }
    undo.push(() => backend.rtnl(invert(op)));
  }
  return sendNft;
}

/** The generation after the attempt: the guard + 1 when a batch was sent, else the one planned at. */
function genidAfter(done: Executed): number | undefined {
  const genid = done.current.genid;
  if (genid === undefined) return undefined;
  return done.sentNft ? nextGenid(genid) : genid;
}

function raceLost(err: unknown, attempts: number): NetcgError {
  return new NetcgError(
    'ERESTART',
    `nf_tables kept changing while netcg applied (${attempts} attempts); nothing was changed. Is another tool rewriting the ruleset?`,
    { cause: err },
  );
}

function applyReport(
  config: Config,
  backend: Backend,
  session: CompileSession,
  run: CgroupRun,
  done: Executed,
  rest: Pick<ApplyReport, 'attempts' | 'sysctls' | 'warnings'>,
): ApplyReport {
  const { netCls, cgroup2 } = run.h;
  return {
    backend: backend.name,
    plan: done.plan,
    summary: summarize(done.plan),
    changed: !isEmptyPlan(done.plan),
    attempts: rest.attempts,
    table: tableCounts(done.desired.table),
    cgroups: run.changes,
    matches: matchesOf(
      session.profiles(config),
      run.h.specs,
      { ...(netCls ? { netCls: netCls.mountPoint } : {}), ...(cgroup2 ? { cgroup2 } : {}) },
      done.facts.cgroups,
    ),
    ...(netCls ? { netCls } : {}),
    ...(cgroup2 ? { cgroup2 } : {}),
    sysctls: rest.sysctls,
    numbers: pickedNumbers(config),
    warnings: rest.warnings,
  };
}

/** Removes everything netcg created for `config`, and nothing else. */
export function down(config: Config, backend: Backend): DownReport {
  const release = lockNamespace(backend.netns);
  try {
    const finished = markUnfinished(backend.netns);
    // Every table: down removes all of netcg's routes, wherever an earlier run left them.
    const owned = backend.readOwned(config.table);
    const deleted = backend.deleteTable(config.table);
    // Rules before routes: a marked packet must never find a rule whose table is empty.
    for (const rule of owned.ipRules) backend.rtnl({ verb: 'del', kind: 'rule', rule });
    for (const route of owned.routes) backend.rtnl({ verb: 'del', kind: 'route', route });
    const cgroups: CgroupChange[] = [];
    for (const [root, remove] of [
      [findNetCls(), removeProfileCgroup],
      [findCgroup2(), removeV2ProfileCgroup],
    ] as const) {
      if (!root) continue;
      for (const name of listProfileCgroups(root, config.cgroupParent)) {
        cgroups.push(remove(root, name, `${config.cgroupParent}/${name}`));
      }
      removeParentIfEmpty(root, config.cgroupParent);
    }
    finished();
    return {
      backend: backend.name,
      table: { name: config.table, deleted },
      ipRules: owned.ipRules,
      routes: owned.routes,
      cgroups,
    };
  } finally {
    release();
  }
}
