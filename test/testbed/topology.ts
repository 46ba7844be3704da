// The real-traffic bench: a "host" namespace where netcg applies its ruleset and
// two gateway namespaces, "lan" (the host's default route) and "vpn" (reached
// through a veth the host calls tun0). Both gateways own the same far address, so
// only the answer (its name and the source it saw) tells which way a packet went.
//
//   host:lan0 198.18.0.1/24 2001:db8::1/64   <-> lan:eth0 198.18.0.2/24 2001:db8::2/64
//   host:tun0 198.18.1.1/24 2001:db8:1::1/64 <-> vpn:eth0 198.18.1.2/24 2001:db8:1::2/64
//   lan:lo, vpn:lo  198.51.100.100/32 2001:db8:ff::100/128 (the far address)
//
// Each gateway routes back to *both* host subnets, so a vpn member whose packets
// were not masqueraded would still get an answer, showing lan0's address: the
// bench can tell "masqueraded to tun0's address" from "merely routed via tun0".
import { createNetns, type Netns } from './netns.js';

export const FAR = { v4: '198.51.100.100', v6: '2001:db8:ff::100' } as const;

export interface Link {
  /** Interface name on the host side. */
  hostDev: string;
  subnetV4: string;
  subnetV6: string;
  hostV4: string;
  hostV6: string;
  gatewayV4: string;
  gatewayV6: string;
}

export const LAN: Link = {
  hostDev: 'lan0',
  subnetV4: '198.18.0.0/24',
  subnetV6: '2001:db8::/64',
  hostV4: '198.18.0.1',
  hostV6: '2001:db8::1',
  gatewayV4: '198.18.0.2',
  gatewayV6: '2001:db8::2',
};
export const VPN: Link = {
  hostDev: 'tun0',
  subnetV4: '198.18.1.0/24',
  subnetV6: '2001:db8:1::/64',
  hostV4: '198.18.1.1',
  hostV6: '2001:db8:1::1',
  gatewayV4: '198.18.1.2',
  gatewayV6: '2001:db8:1::2',
};

export interface Topology {
  host: Netns;
  lan: Netns;
  vpn: Netns;
  /** Deletes the three namespaces (daemons must be stopped first; see daemons.ts). */
  remove(): void;
}

/**
 * No reverse-path filtering (replies to masqueraded vpn traffic come in on tun0
 * while the main table points at lan0) and no DAD (addresses usable at once).
 * Set before links are created so new interfaces inherit it, and again per link.
 */
const QUIET_SYSCTLS = {
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
  'net.ipv4.conf.all.arp_ignore': '0',
  'net.ipv6.conf.all.accept_dad': '0',
  'net.ipv6.conf.default.accept_dad': '0',
  'net.ipv6.conf.all.disable_ipv6': '0',
  'net.ipv6.conf.default.disable_ipv6': '0',
};

function connect(host: Netns, gateway: Netns, link: Link): void {
  // Both ends are created directly inside their namespaces; nothing appears in the host's.
  host.ip('link', 'add', link.hostDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', gateway.name);
  host.sysctl({ [`net.ipv4.conf.${link.hostDev}.rp_filter`]: '0' });
  gateway.sysctl({ 'net.ipv4.conf.eth0.rp_filter': '0' });
  host.ip('addr', 'add', `${link.hostV4}/24`, 'dev', link.hostDev);
  host.ip('-6', 'addr', 'add', `${link.hostV6}/64`, 'dev', link.hostDev, 'nodad');
  gateway.ip('addr', 'add', `${link.gatewayV4}/24`, 'dev', 'eth0');
  gateway.ip('-6', 'addr', 'add', `${link.gatewayV6}/64`, 'dev', 'eth0', 'nodad');
  host.ip('link', 'set', link.hostDev, 'up');
  gateway.ip('link', 'set', 'eth0', 'up');
  gateway.ip('addr', 'add', `${FAR.v4}/32`, 'dev', 'lo');
  gateway.ip('-6', 'addr', 'add', `${FAR.v6}/128`, 'dev', 'lo', 'nodad');
  // IPv4 answers ARP for any local address; IPv6 answers neighbour solicitations only
  // for addresses on the asked interface, so the far address needs a proxy entry for a
  // host route like `default dev tun0` (no gateway) to reach it. The kernel answers
  // proxied solicitations only on a router, so the gateway forwards (inside its own namespace).
  gateway.sysctl({ 'net.ipv6.conf.all.forwarding': '1', 'net.ipv6.conf.eth0.proxy_ndp': '1' });
  gateway.ip('-6', 'neigh', 'add', 'proxy', FAR.v6, 'dev', 'eth0');
}

/** The gateway behind `link` routes the host's *other* subnet back through the host. */
function routeBack(gateway: Netns, link: Link, other: Link): void {
  gateway.ip('route', 'add', other.subnetV4, 'via', link.hostV4);
  gateway.ip('-6', 'route', 'add', other.subnetV6, 'via', link.hostV6);
}

/** Builds host, lan and vpn namespaces; on any failure removes what it made and rethrows. */
export function buildTopology(prefix = 'nc'): Topology {
  const made: Netns[] = [];
  const remove = () => {
    for (const ns of made.splice(0)) ns.remove();
  };
  try {
    const host = createNetns(`${prefix}h`);
    made.push(host);
    const lan = createNetns(`${prefix}l`);
    made.push(lan);
    const vpn = createNetns(`${prefix}v`);
    made.push(vpn);
    for (const ns of made) ns.sysctl(QUIET_SYSCTLS);
    connect(host, lan, LAN);
    connect(host, vpn, VPN);
    routeBack(lan, LAN, VPN);
    routeBack(vpn, VPN, LAN);
    host.ip('route', 'add', 'default', 'via', LAN.gatewayV4, 'dev', LAN.hostDev);
    host.ip('-6', 'route', 'add', 'default', 'via', LAN.gatewayV6, 'dev', LAN.hostDev);
    return { host, lan, vpn, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
