// What every measurement shares: the config for N profiles, and a throwaway
// namespace that has the interface those profiles route through. Profiles are
// p0..p{N-1} with classid 1000+i, each with DNS redirect, IPv6 reject and a route
// via tun0 (so they share one mark, one table and one ip rule per family).
import { createNetns } from '../build-testbed/testbed/netns.js';
import { parseConfig } from '../dist/config/index.js';

export const FIRST_CLASSID = 1000;
export const DNS_PORT = 5354;
export const VIA = 'tun0';
export const TABLE = 'netcg';

export const classidOf = (i) => FIRST_CLASSID + i;
export const profileName = (i) => `p${i}`;

/** Config text (JSON is YAML) for profiles 0..n-1; `extra` profiles are appended after them. */
export function configText(n, { cgroupParent = 'netcg-bench', extra = 0 } = {}) {
  const profiles = {};
  for (let i = 0; i < n + extra; i++) {
    profiles[profileName(i)] = {
      classid: classidOf(i),
      dns: { redirect: DNS_PORT },
      ipv6: 'reject',
      route: { via: VIA },
    };
  }
  return JSON.stringify({ table: TABLE, cgroupParent, profiles });
}

export function benchConfig(n, opts) {
  return parseConfig(configText(n, opts), `bench-${n}.json`);
}

/**
 * A fresh namespace with lo up and a veth pair tun0/tun0p (both ends inside it,
 * up, 198.18.0.1/30 on tun0): the "VPN" every profile routes through.
 * The caller must remove() it; `track` registers that with the cleanup list first.
 */
export function createBenchNetns(track) {
  const ns = createNetns('ncb');
  const untrack = track(() => ns.remove());
  try {
    ns.ip('link', 'add', VIA, 'type', 'veth', 'peer', 'name', `${VIA}p`);
    ns.ip('addr', 'add', '198.18.0.1/30', 'dev', VIA);
    ns.ip('link', 'set', `${VIA}p`, 'up');
    ns.ip('link', 'set', VIA, 'up');
  } catch (err) {
    ns.remove();
    untrack();
    throw err;
  }
  return {
    ...ns,
    remove() {
      ns.remove();
      untrack();
    },
  };
}
