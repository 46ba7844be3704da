// `netcg watch` with exactly what contrib/systemd/netcg-watch.service grants: the
// test reads the unit (CapabilityBoundingSet, AmbientCapabilities, NoNewPrivileges,
// UMask) and starts the daemon as systemd would for it — root, whose capabilities
// after exec are the bounding set — through `setpriv` inside a throwaway namespace,
// checking /proc/PID/status that it runs with that set and no more. Then a small
// storm: netcg's table deleted and flushed again and again, its ip rule and routes
// removed, the delegated cgroup v2 profile cgroup removed, then cgroupParent with
// it; each is repaired. Controls show the set is the one that matters: without
// CAP_NET_ADMIN watch stops at once naming it; without CAP_CHOWN the re-created
// cgroup cannot be handed to its owner. netcg.service's set runs apply and down
// (with sub-cgroups the owner made); without CAP_DAC_OVERRIDE down cannot remove
// cgroupParent from the hierarchy's root directory, which is r-x even for root.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { NETCG_CLI, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const unitFile = (name: string) => new URL(`../../contrib/systemd/${name}`, import.meta.url);
const NOBODY = 65534;

/** Capability numbers of the names a unit may list (linux/capability.h). */
const CAPS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
};

interface UnitPrivileges {
  bounding: string[];
  ambient: string[];
  noNewPrivileges: boolean;
  umask: string;
}

function unitPrivileges(name: string): UnitPrivileges {
  const text = readFileSync(unitFile(name), 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
  const list = (key: string) => (value(key) ?? '').split(/\s+/).filter(Boolean);
  return {
    bounding: list('CapabilityBoundingSet'),
    ambient: list('AmbientCapabilities'),
    noNewPrivileges: value('NoNewPrivileges') === 'yes',
    umask: value('UMask') ?? '0022',
  };
}

const mask = (caps: readonly string[]) =>
  caps.reduce((m, c) => {
    if (CAPS[c] === undefined) throw new Error(`unknown capability ${c} in the unit`);
    return m | (1n << BigInt(CAPS[c]));
  }, 0n);

let ns: Netns;
let cfg: TempConfig;
let cgroup2: string;
const unit = unitPrivileges('netcg-watch.service');
const bootUnit = unitPrivileges('netcg.service');

interface Daemon {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}
const daemons: Daemon[] = [];

const capName = (c: string) => c.replace(/^CAP_/, '').toLowerCase();

/** `sh -c` text that starts `argv` in the namespace as `u` would (umask, setpriv), with `caps` as the bounding set. */
function asUnit(u: UnitPrivileges, caps: readonly string[], argv: readonly string[]): string[] {
  const setpriv = [
    'setpriv',
    `--bounding-set=-all${caps.map((c) => `,+${capName(c)}`).join('')}`,
    `--inh-caps=-all${u.ambient.map((c) => `,+${capName(c)}`).join('')}`,
    ...(u.ambient.length > 0 ? [`--ambient-caps=${u.ambient.map((c) => `+${capName(c)}`).join(',')}`] : []),
    ...(u.noNewPrivileges ? ['--no-new-privs'] : []),
  ];
  const script = `umask ${u.umask}; exec ${[...setpriv, ...argv].map((a) => `'${a}'`).join(' ')}`;
  return ['nsenter', `--net=${ns.path}`, 'sh', '-c', script];
}

/** `netcg watch` in the namespace as the unit starts it, with `caps` as the bounding set. */
function startWatch(caps: readonly string[]): Daemon {
  const [cmd, ...args] = asUnit(unit, caps, [process.execPath, NETCG_CLI, 'watch', '-c', cfg.file, '--json']);
  const proc = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const d = { proc, output: () => out, exit };
  daemons.push(d);
  return d;
}

async function stop(d: Daemon): Promise<number | null> {
  if (d.proc.exitCode === null) d.proc.kill('SIGTERM');
  return d.exit;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, d: Daemon, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not repaired: ${what}\n${d.output()}`);
    if (d.proc.exitCode !== null) throw new Error(`watch exited ${d.proc.exitCode}: ${d.output()}`);
    await sleep(200);
  }
}

const inSync = () => runCli(['diff', '-c', cfg.file, '--netns', ns.path]).code === 0;
const v2Dir = () => join(cgroup2, cfg.cgroupParent, 'owned');
const ownedByOwner = () => existsSync(v2Dir()) && statSync(v2Dir()).uid === NOBODY;

/** The capability sets of a running process, from /proc/PID/status. */
function capsOf(pid: number): Record<string, bigint> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, bigint> = {};
  for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
    out[k] = BigInt(`0x${new RegExp(`^${k}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]}`);
  out.NoNewPrivs = BigInt(/^NoNewPrivs:\s*(\d)$/m.exec(status)![1]!);
  return out;
}

/** The node process of the daemon: sh execs setpriv, which execs node, so it is the spawned pid. */
async function watchPid(d: Daemon): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const comm = readFileSync(`/proc/${d.proc.pid}/comm`, 'utf8').trim();
    if (comm === 'node') return d.proc.pid!;
    await sleep(50);
  }
  throw new Error('the daemon never became node');
}

beforeAll(() => {
  cgroup2 = findCgroup2()!;
  ns = createNetns('ncwc');
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('addr', 'add', '198.18.91.1/24', 'dev', 'tun0');
  ns.ip('link', 'set', 'tun0', 'up');
  ns.ip('link', 'set', 'tun0p', 'up');
  cfg = tempConfig(
    [
      'profiles:',
      '  vpn: { classid: 0x00ee0091, route: { via: tun0, table: 91 }, dns: { redirect: 5354 } }',
      '  owned: { match: cgroupv2, owner: nobody, ipv6: reject }',
      '',
    ].join('\n'),
    'ncwc',
  );
  const r = runCli(['apply', '-c', cfg.file, '--netns', ns.path]);
  if (r.code !== 0) throw new Error(r.stderr);
});

afterAll(async () => {
  for (const d of daemons) await stop(d);
  try {
    if (cfg && ns) runCli(['down', '-c', cfg.file, '--netns', ns.path]);
  } finally {
    ns?.remove();
    cfg?.remove();
  }
});

describe('netcg watch with the capabilities of netcg-watch.service', () => {
  it('the unit grants a bounding set, no ambient capabilities, and sets NoNewPrivileges', () => {
    expect(unit.bounding).toContain('CAP_NET_ADMIN');
    expect(unit.ambient).toEqual([]);
    expect(unit.noNewPrivileges).toBe(true);
  });

  it('runs with exactly that set, and repairs a storm of deletions', async () => {
    const d = startWatch(unit.bounding);
    const pid = await watchPid(d);
    const want = mask(unit.bounding);
    expect(capsOf(pid)).toEqual({
      CapInh: 0n,
      CapPrm: want,
      CapEff: want,
      CapBnd: want,
      CapAmb: 0n,
      NoNewPrivs: 1n,
    });
    await until('the first apply', inSync, d);

    for (let round = 0; round < 5; round++) {
      // A burst: the table deleted, re-created empty and flushed, deleted again, without waiting.
      ns.run('sh', [
        '-c',
        `nft delete table inet ${cfg.table}; nft add table inet ${cfg.table}; nft flush table inet ${cfg.table}; nft delete table inet ${cfg.table}; true`,
      ]);
      await until(`table, round ${round}`, inSync, d);
      ns.run('sh', ['-c', `nft flush table inet ${cfg.table}`]);
      await until(`flushed table, round ${round}`, inSync, d);
    }
    ns.ip('-4', 'rule', 'del', 'priority', String(ns.ip('-4', 'rule').match(/^(\d+):.*lookup 91/m)![1]));
    ns.ip('-4', 'route', 'flush', 'table', '91');
    await until('ip rule and routes', inSync, d);
    rmdirSync(v2Dir());
    await until(
      'the delegated cgroup, re-created and handed to its owner',
      () => ownedByOwner() && inSync(),
      d,
    );
    // cgroupParent too: it sits in the hierarchy's root directory, which is r-x even for root.
    rmdirSync(v2Dir());
    rmdirSync(join(cgroup2, cfg.cgroupParent));
    await until('cgroupParent and the delegated cgroup', () => ownedByOwner() && inSync(), d);

    expect(d.output()).not.toMatch(/"(error|fatal)"/);
    expect(await stop(d)).toBe(0);
  });

  it('control: without CAP_NET_ADMIN it stops at once, naming it', async () => {
    const d = startWatch(unit.bounding.filter((c) => c !== 'CAP_NET_ADMIN'));
    expect(await d.exit).toBe(1);
    expect(JSON.parse(d.output())).toEqual({
      error: {
        code: 'EPERM',
        message: "netcg watch changes the kernel's network policy: needs root (CAP_NET_ADMIN)",
      },
    });
  });

  it('control: without CAP_CHOWN the re-created cgroup is not handed to its owner', async () => {
    expect(unit.bounding).toContain('CAP_CHOWN');
    const d = startWatch(unit.bounding.filter((c) => c !== 'CAP_CHOWN'));
    await until('the first apply', inSync, d);
    rmdirSync(v2Dir());
    const deadline = Date.now() + 10_000;
    while (!d.output().includes('EPERM') && Date.now() < deadline) await sleep(200);
    expect(d.output()).toMatch(/EPERM/);
    expect(existsSync(v2Dir()) && statSync(v2Dir()).uid).not.toBe(NOBODY);
    await stop(d);
    // Put it back as the full unit would, for whatever runs next.
    const fix = spawnSync(process.execPath, [NETCG_CLI, 'apply', '-c', cfg.file, '--netns', ns.path]);
    expect(fix.status).toBe(0);
  });
});

describe('netcg apply and down with the capabilities of netcg.service', () => {
  const cli = (...args: string[]) => {
    const [cmd, ...rest] = asUnit(bootUnit, bootUnit.bounding, [process.execPath, NETCG_CLI, ...args]);
    return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 60_000 });
  };

  it('control: without CAP_DAC_OVERRIDE down cannot remove cgroupParent from the r-x hierarchy root', () => {
    expect(bootUnit.bounding).toContain('CAP_DAC_OVERRIDE');
    expect(statSync(cgroup2).mode & 0o222).toBe(0); // the root directory of the hierarchy
    const [cmd, ...rest] = asUnit(
      bootUnit,
      bootUnit.bounding.filter((c) => c !== 'CAP_DAC_OVERRIDE'),
      [process.execPath, NETCG_CLI, 'down', '-c', cfg.file],
    );
    const r = spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/EACCES/);
  });

  it('apply hands the delegated cgroup to its owner; down removes it with the sub-cgroups the owner made', () => {
    const down = cli('down', '-c', cfg.file);
    expect(down.status, down.stderr).toBe(0);
    const apply = cli('apply', '-c', cfg.file);
    expect(apply.status, apply.stderr).toBe(0);
    expect(ownedByOwner()).toBe(true);
    expect(inSync()).toBe(true);
    // The owner makes a sub-cgroup in its delegated subtree (as a session manager would).
    const mk = spawnSync('setpriv', [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      'mkdir',
      join(v2Dir(), 'session'),
    ]);
    expect(mk.status).toBe(0);
    const r = cli('down', '-c', cfg.file);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(v2Dir())).toBe(false);
    expect(ns.nft('list', 'tables')).not.toContain(cfg.table);
    const again = cli('apply', '-c', cfg.file);
    expect(again.status, again.stderr).toBe(0);
  });
});
