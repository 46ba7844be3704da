// Issue 11, feature 4: profiles that match an existing cgroup in place, with real
// traffic. The test plays systemd: it makes `<cgroup2>/<tag>.slice/app.service`
// (cgroup2 root from /proc/self/mountinfo) and starts processes in it by writing
// their PID to cgroup.procs; netcg only matches them (IPv6 rejected: a TCP connect
// to [::1] is refused for a member and accepted for an outsider, the control). The
// service is deleted and re-created (new cgroup, new ID): diff shows the stale
// element, `netcg watch` (the daemon, in process) follows it; a glob matches two
// scopes. Namespace, cgroups and processes are removed in afterAll, also on failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff, down, waitingProfiles } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { profileCgroupDir } from '../../src/cgroups/profile.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { addon } from '../../src/native/index.js';
import { readHostU64 } from '../../src/nft/index.js';
import { isEmptyPlan } from '../../src/plan/plan.js';
import { Enroller } from '../../src/process/enroll.js';
import { collectStatus } from '../../src/status/collect.js';
import { WatchDaemon } from '../../src/watch/daemon.js';
import type { WatchRecord } from '../../src/watch/log.js';
import { cliOk, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const root = findCgroup2()!;
const tag = uniqueName('ncx');
const slice = join(root, `${tag}.slice`);
const service = join(slice, 'app.service');
/** A service whose slice does not exist at first: netcg watch must follow it down two levels. */
const lateSlice = join(root, `${tag}-late.slice`);
const lateService = join(lateSlice, 'late.service');
const PORT = 7431;

let ns: Netns;
let cfg: TempConfig;
let config: Config;
let server: ChildProcess | undefined;
const procs: ChildProcess[] = [];
let daemon: WatchDaemon | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withBackend<T>(fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(ns.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

/** A long-lived process started in `dir` the way systemd does it (its PID written to cgroup.procs before exec). */
function startIn(dir: string): ChildProcess {
  const p = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sleep 600', dir], { stdio: 'ignore' });
  procs.push(p);
  return p;
}

const CONNECT = `const s = require('net').connect({ host: '::1', port: +process.argv[1] });
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(1); });
setTimeout(() => { console.log('timeout'); process.exit(2); }, 3000);`;

/** A TCP connect to [::1]:PORT in the namespace, from a process in cgroup `dir` (undefined: where the test runs). */
function connect(dir?: string): string {
  const probe = ['nsenter', `--net=${ns.path}`, process.execPath, '-e', CONNECT, String(PORT)];
  const r = dir
    ? spawnSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...probe], { encoding: 'utf8' })
    : spawnSync(probe[0]!, probe.slice(1), { encoding: 'utf8' });
  return r.stdout.trim() || r.stderr.trim();
}

function cgroupOf(pid: number): string {
  return /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? '';
}

function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

/** Empties and removes a cgroup the test made: the processes in it are the test's own (started by startIn). */
async function removeCgroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const child of readdirSync(dir, { withFileTypes: true }))
    if (child.isDirectory()) await removeCgroup(join(dir, child.name));
  const pids = () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const p of procs) if (p.pid !== undefined && pids().includes(p.pid)) await kill(p);
  for (let i = 0; i < 200 && pids().length > 0; i++) await sleep(10);
  rmdirSync(dir);
}

/** Deletes the service's cgroup and makes it again with a new process, as a restart does. */
async function restartService(): Promise<{ before: bigint; after: bigint }> {
  const before = addon.cgroupId(service);
  await removeCgroup(service);
  mkdirSync(service);
  startIn(service);
  return { before, after: addon.cgroupId(service) };
}

/** IDs in the ipv6 map's elements (as nft lists them: the kernel's dump through the addon). */
function mapIds(name = 'ipv6_dispatch_v2'): bigint[] {
  return withBackend((b) => {
    const t = b.readState(cfg.table).table;
    const map = t?.maps.find((m) => m.name === name);
    return (map?.elements ?? []).map((e) => readHostU64(e.key)).sort();
  });
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

beforeAll(async () => {
  ns = createNetns('ncx');
  mkdirSync(service, { recursive: true });
  startIn(service);
  cfg = tempConfig(
    `profiles:
  svc:
    match: cgroupv2
    cgroup: /${tag}.slice/app.service
    ipv6: reject
  apps:
    cgroup: /${tag}.slice/app-*.scope
    ipv6: reject
  late:
    cgroup: /${tag}-late.slice/late.service
    dns: { redirect: 5399 }
`,
    'ncx',
  );
  config = loadConfig(cfg.file);
  server = spawn(
    'nsenter',
    [
      `--net=${ns.path}`,
      process.execPath,
      '-e',
      `require('net').createServer((s) => s.end()).listen(${PORT}, '::1', () => console.log('listening'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => server!.stdout!.once('data', () => resolve()));
});

afterAll(async () => {
  try {
    daemon?.stop('SIGTERM');
    if (server) await kill(server);
    if (config) withBackend((b) => down(config, b));
  } finally {
    await removeCgroup(slice).catch(() => {});
    await removeCgroup(lateSlice).catch(() => {});
    for (const p of procs) await kill(p);
    ns?.remove();
    cfg?.remove();
  }
  expect(existsSync(slice)).toBe(false);
  expect(existsSync(lateSlice)).toBe(false);
});

describe('an existing service cgroup', () => {
  it('apply matches its process in place and reports the glob profile as waiting', () => {
    const member = procs[0]!;
    const report = withBackend((b) => apply(config, b));
    const svc = report.matches.find((m) => m.profile === 'svc')!;
    expect(svc.existing).toEqual([
      { path: `/${tag}.slice/app.service`, id: addon.cgroupId(service).toString() },
    ]);
    expect(report.matches.find((m) => m.profile === 'apps')).toMatchObject({ existing: [], waiting: true });
    expect(report.cgroups.every((c) => !c.path.startsWith(slice))).toBe(true);
    // Real traffic: the member's IPv6 is rejected, the outsider's is not.
    expect(connect(service)).toBe('ECONNREFUSED');
    expect(connect()).toBe('connected');
    // Nothing was moved.
    expect(cgroupOf(member.pid!)).toBe(`/${tag}.slice/app.service`);
    expect(withBackend((b) => isEmptyPlan(diff(config, b).plan))).toBe(true);
  });

  it('status shows the matched cgroup and the waiting profile', () => {
    const s = withBackend((b) => collectStatus(config, b));
    expect(s.profiles.find((p) => p.name === 'svc')!.match).toMatchObject({
      kind: 'cgroupv2',
      existing: [{ path: `/${tag}.slice/app.service` }],
    });
    expect(s.profiles.find((p) => p.name === 'svc')!.members).toBe(1);
    expect(s.profiles.find((p) => p.name === 'apps')!.match).toMatchObject({ existing: [], waiting: true });
  });

  it('run/enroll refuse the profile, leave refuses its process', () => {
    expect(() => profileCgroupDir(config, 'svc')).toThrow(/existing cgroup/);
    const enroller = new Enroller(config);
    try {
      expect(enroller.leave([procs[0]!.pid!])).toEqual([
        { pid: procs[0]!.pid!, ok: false, code: 'EEXISTINGCGROUP' },
      ]);
    } finally {
      enroller.close();
    }
    expect(cgroupOf(procs[0]!.pid!)).toBe(`/${tag}.slice/app.service`);
  });

  it('re-created without watch: diff shows the stale ID, the new process is not matched until apply', async () => {
    const { before, after } = await restartService();
    const d = withBackend((b) => diff(config, b));
    const ids = d.plan.changes.filter((c) => c.kind === 'element').map((c) => `${c.action} ${c.id}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^- ipv6_dispatch_v2/),
        expect.stringMatching(/^\+ ipv6_dispatch_v2/),
      ]),
    );
    expect(mapIds()).toEqual([before]);
    expect(connect(service)).toBe('connected'); // the stale ID matches no one
    withBackend((b) => apply(config, b));
    expect(mapIds()).toEqual([after]);
    expect(connect(service)).toBe('ECONNREFUSED');
    expect(waitingProfiles(withBackend((b) => diff(config, b)))).toEqual([
      { profile: 'apps', cgroup: `/${tag}.slice/app-*.scope` },
      { profile: 'late', cgroup: `/${tag}-late.slice/late.service` },
    ]);
  });
});

describe('the CLI', () => {
  const args = () => ['-c', cfg.file];
  const inNs = () => ['-c', cfg.file, '--netns', ns.path];

  it('apply, diff, status and doctor show the matched cgroup and the waiting profile', () => {
    const applied = cliOk(['apply', ...inNs()]).stdout;
    expect(applied).toContain(
      `profile svc: matched in place by cgroup v2 ID (socket cgroupv2) · /${tag}.slice/app.service (ID`,
    );
    expect(applied).toContain(`profile apps: waiting: no cgroup matches ${slice}/app-*.scope yet`);
    const d = JSON.parse(cliOk(['diff', ...inNs(), '--json']).stdout) as {
      changed: boolean;
      waiting: unknown;
    };
    expect(d).toMatchObject({
      changed: false,
      waiting: [
        { profile: 'apps', cgroup: `/${tag}.slice/app-*.scope` },
        { profile: 'late', cgroup: `/${tag}-late.slice/late.service` },
      ],
    });
    const s = JSON.parse(cliOk(['status', ...inNs(), '--json']).stdout) as {
      profiles: Array<{ name: string; match: { waiting?: true; existing?: unknown[] } }>;
    };
    expect(s.profiles.map((p) => [p.name, p.match.existing?.length, p.match.waiting ?? false])).toEqual([
      ['svc', 1, false],
      ['apps', 0, true],
      ['late', 0, true],
    ]);
    const doc = JSON.parse(runCli(['doctor', ...inNs(), '--json']).stdout) as {
      findings: Array<{ check: string; level: string }>;
    };
    expect(doc.findings.filter((f) => f.check === 'existing-cgroup').map((f) => f.level)).toEqual([
      'ok',
      'warn',
      'warn',
    ]);
  });

  it('run, enroll and leave refuse, export sh matches the path in place', () => {
    const pid = String(procs.at(-1)!.pid);
    const run = runCli(['run', ...args(), 'svc', '--', 'true']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/profile 'svc' matches the existing cgroup .*cannot/);
    const enroll = runCli(['enroll', ...args(), 'svc', pid]);
    expect(enroll.code).toBe(1);
    expect(enroll.stderr).toMatch(/existing cgroup/);
    const leave = runCli(['leave', ...args(), pid]);
    expect(leave.code).toBe(1);
    expect(leave.stdout).toMatch(new RegExp(`^${pid}: failed EEXISTINGCGROUP`, 'm'));
    expect(cgroupOf(Number(pid))).toBe(`/${tag}.slice/app.service`);
    const sh = cliOk(['export', ...inNs(), '--format', 'sh']).stdout;
    expect(sh).toContain(`ip6tables -A OUTPUT -m cgroup --path ${tag}.slice/app.service -j REJECT`);
    expect(sh).not.toMatch(/mkdir .*app\.service/);
  });
});

describe('netcg watch', () => {
  const records: WatchRecord[] = [];

  it('replaces the ID when the service restarts', async () => {
    daemon = new WatchDaemon({
      configFile: cfg.file,
      netns: ns.path,
      debounceMs: 50,
      log: (r) => records.push(r),
    });
    daemon.start();
    await until('the initial apply', () => records.some((r) => r.event === 'apply'));
    const { after } = await restartService();
    await until('the new ID in the map', () => mapIds().includes(after));
    expect(mapIds()).toEqual([after]);
    expect(connect(service)).toBe('ECONNREFUSED');
    expect(records.filter((r) => r.event === 'error')).toEqual([]);
  });

  it('adds every scope a glob matches as it appears, and drops one that goes', async () => {
    const a = join(slice, 'app-a.scope');
    const b = join(slice, 'app-b.scope');
    mkdirSync(a);
    mkdirSync(b);
    startIn(a);
    const want = [addon.cgroupId(service), addon.cgroupId(a), addon.cgroupId(b)].sort();
    await until('both scopes in the map', () => mapIds().join() === want.join());
    expect(connect(a)).toBe('ECONNREFUSED');
    expect(connect(b)).toBe('ECONNREFUSED');
    expect(connect()).toBe('connected');
    await removeCgroup(b);
    await until('the removed scope gone from the map', () => mapIds().length === 2);
    expect(withBackend((x) => isEmptyPlan(diff(config, x).plan))).toBe(true);
  });

  it('follows a service whose slice appears later, level by level', async () => {
    expect(mapIds('dns_dispatch_v2')).toEqual([]);
    mkdirSync(lateSlice);
    await sleep(200); // the slice alone: the watch must move down to it
    mkdirSync(lateService);
    startIn(lateService);
    const id = addon.cgroupId(lateService);
    await until('the late service in the map', () => mapIds('dns_dispatch_v2').includes(id));
    expect(records.filter((r) => r.event === 'error')).toEqual([]);
  });
});
