// `netcg export --format sh` keeps the `dns.server` protection: the exported
// iptables rules (conntrack REPLY/DNAT + `-m owner ! --uid-owner`) run in throwaway
// namespaces, with a real member (a process in the profile's cgroup v2 cgroup, which
// the script creates, matched by `-m cgroup --path`) and real dnsmasq. An impostor
// run as nobody answers the member where the script's server check was cut out (the
// control), and does not where the whole script ran; dnsmasq started as root answers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk } from '../helpers/cli.js';
import { asUser, dnsmasqArgv, stopChild } from '../helpers/daemon.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { findCgroup2 } from '../../src/cgroups/cgroup2.js';

const PORT = 5497;
const NAME = 'probe.netcg.test';
const ADDR = '198.18.0.97';

let cfg: TempConfig;
let cgroup2: string;
const ns: Record<'whole' | 'cut', Netns> = {} as Record<'whole' | 'cut', Netns>;
const daemons: ChildProcess[] = [];

/** A member's lookup: the shell joins the profile's cgroup, then execs dig (the redirect sends it to PORT). */
function memberDig(where: Netns, tcp = false): string {
  const procs = `${cgroup2}/${cfg.cgroupParent}/dns/cgroup.procs`;
  const dig = `dig +short +time=1 +tries=1 ${tcp ? '+tcp ' : ''}@127.0.0.1 ${NAME}`;
  const r = spawnSync('nsenter', [`--net=${where.path}`, 'sh', '-c', `echo $$ > ${procs} && exec ${dig}`], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  const first = r.stdout?.split('\n')[0]?.trim() ?? '';
  return r.status === 0 && /^[0-9.]+$/.test(first) ? first : '';
}

function outsiderDig(where: Netns): string {
  return where.run('dig', ['+short', '+time=1', '+tries=1', '-p', String(PORT), '@127.0.0.1', NAME]).trim();
}

async function dnsmasq(where: Netns, asNobody: boolean): Promise<ChildProcess> {
  const argv = dnsmasqArgv(PORT, NAME, ADDR);
  const child = spawn('nsenter', [`--net=${where.path}`, ...(asNobody ? asUser('nobody') : []), ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemons.push(child);
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) throw new Error('dnsmasq exited');
    if (outsiderDig(where) === ADDR) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('dnsmasq did not answer');
}

beforeAll(() => {
  cgroup2 = findCgroup2()!;
  cfg = tempConfig(`profiles:\n  dns:\n    match: cgroupv2\n    dns: { redirect: ${PORT} }\n`, 'ncxs');
  ns.whole = createNetns('ncxsw');
  ns.cut = createNetns('ncxsc');
  const sh = cliOk(['export', '-c', cfg.file, '--netns', ns.whole.path, '--format', 'sh']).stdout;
  const cut = sh
    .split('\n')
    .filter((l) => !l.includes('--uid-owner'))
    .join('\n');
  expect(sh.split('\n').length - cut.split('\n').length).toBe(4);
  for (const [where, script] of [
    [ns.whole, sh],
    [ns.cut, cut],
  ] as const)
    spawnSync('nsenter', [`--net=${where.path}`, 'sh', '-e'], {
      input: script,
      env: { ...process.env, CGROUP2: cgroup2 },
      encoding: 'utf8',
    });
});

afterAll(async () => {
  for (const d of daemons) await stopChild(d);
  ns.whole?.remove();
  ns.cut?.remove();
  cfg?.remove();
});

describe('export --format sh keeps dns.server', () => {
  it('the script installed the redirect and the server check', () => {
    expect(ns.whole.run('iptables-save', [])).toContain(
      `-A OUTPUT -p udp -m udp --sport ${PORT} -m conntrack --ctstate DNAT --ctdir REPLY -m owner ! --uid-owner 0 -j DROP`,
    );
    expect(ns.cut.run('iptables-save', [])).not.toContain('--uid-owner');
  });

  it('an impostor run as nobody answers the member without the check (control), not with it', async () => {
    const impostors = [await dnsmasq(ns.whole, true), await dnsmasq(ns.cut, true)];
    expect(memberDig(ns.cut)).toBe(ADDR);
    expect(memberDig(ns.cut, true)).toBe(ADDR);
    expect(memberDig(ns.whole)).toBe('');
    expect(memberDig(ns.whole, true)).toBe('');
    expect(outsiderDig(ns.whole)).toBe(ADDR); // it is up: only redirected answers are dropped
    for (const d of impostors) await stopChild(d);
  });

  it('dnsmasq started as root (dropping to nobody) answers the member through the whole script', async () => {
    const d = await dnsmasq(ns.whole, false);
    expect(memberDig(ns.whole)).toBe(ADDR);
    expect(memberDig(ns.whole, true)).toBe(ADDR);
    await stopChild(d);
  });
});
