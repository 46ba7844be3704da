// A throwaway namespace in which nothing sends packets once it has settled, so a
// snapshot of it can include nft counters and still be compared byte-for-byte: the
// "kernel unchanged" checks of the hostile-input tests want `nft list ruleset`
// exactly as printed, not the stateless (-s) form.
//
// What would otherwise move counters is IPv6 housekeeping: router solicitations,
// DAD probes and MLD reports on link-up. Those are switched off before the links
// exist (the `default` sysctls), the links get no autoconfigured link-local address
// (addrgenmode none), and the one remaining burst of MLD reports for the static
// address is waited out before the namespace is handed over.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { cgroup2Mounts, netClsMounts } from '../testbed/cgroups.js';
import { createNetns, type Netns } from './netns.js';

/** The interface every generated config routes through: one end of a veth pair. */
export const VIA = 'tun0';

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Creates a quiet namespace with `tun0` (198.18.77.1/24, 2001:db8:77::1/64) up, then `setup(ns)`; waits until counters stand still. */
export function createQuietNetns(prefix: string, setup?: (ns: Netns) => void): Netns {
  const ns = createNetns(prefix);
  try {
    ns.sysctl({
      'net.ipv6.conf.default.router_solicitations': '0',
      'net.ipv6.conf.default.dad_transmits': '0',
      'net.ipv6.conf.default.accept_ra': '0',
      'net.ipv6.conf.all.force_mld_version': '2',
      'net.ipv6.conf.default.force_mld_version': '2',
    });
    ns.ip('link', 'add', VIA, 'type', 'veth', 'peer', 'name', `${VIA}p`);
    for (const dev of [VIA, `${VIA}p`]) ns.ip('link', 'set', dev, 'addrgenmode', 'none');
    ns.ip('addr', 'add', '198.18.77.1/24', 'dev', VIA);
    ns.ip('-6', 'addr', 'add', '2001:db8:77::1/64', 'dev', VIA, 'nodad');
    for (const dev of [VIA, `${VIA}p`]) ns.ip('link', 'set', dev, 'up');
    setup?.(ns);
    waitQuiet(ns);
    return ns;
  } catch (err) {
    ns.remove();
    throw err;
  }
}

/** Waits (up to 15 s) until two listings 1.2 s apart are equal. */
export function waitQuiet(ns: Netns): void {
  let last = ns.nft('list', 'ruleset');
  for (let i = 0; i < 12; i++) {
    sleepMs(1200);
    const now = ns.nft('list', 'ruleset');
    if (now === last) return;
    last = now;
  }
  throw new Error(`namespace ${ns.name} does not go quiet: nft counters keep moving`);
}

/** Everything netcg could touch in a namespace, as text: nft ruleset with counters, ip rules and every routing table, both families. */
export function kernelSnapshot(ns: Netns): string {
  return [
    ns.nft('list', 'ruleset'),
    ns.ip('-4', 'rule', 'show'),
    ns.ip('-6', 'rule', 'show'),
    ns.ip('-4', 'route', 'show', 'table', 'all'),
    ns.ip('-6', 'route', 'show', 'table', 'all'),
  ].join('\n--\n');
}

/** Where <cgroupParent> exists under the net_cls or cgroup2 hierarchies (empty when it exists nowhere). */
export function cgroupParentDirs(cgroupParent: string): string[] {
  return [...netClsMounts(), ...cgroup2Mounts()]
    .map((m) => join(m, cgroupParent))
    .filter((d) => existsSync(d));
}

/** <cgroupParent> and every cgroup below it, in every hierarchy: what a failed run must leave as it found. */
export function cgroupTree(cgroupParent: string): string[] {
  const walk = (dir: string): string[] => [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => walk(join(dir, e.name))),
  ];
  return cgroupParentDirs(cgroupParent).flatMap(walk);
}
