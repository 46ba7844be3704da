// The config the bench and the demo apply: the recipe's two profiles, with the
// table and cgroup parent made unique per run so parallel runs never collide.
import { VPN } from './topology.js';

export const PROBE_NAME = 'probe.netcg.test';
/** What the host's normal resolver (127.0.0.1:53) answers for PROBE_NAME. */
export const NORMAL_DNS = { port: 53, answer: '198.18.53.53' } as const;
/** What the unlocator profile's resolver (127.0.0.1:5354) answers for PROBE_NAME. */
export const UNLOCATOR_DNS = { port: 5354, answer: '198.18.54.54' } as const;
/** Port the echo gateways (and the host's [::1] listener) answer on. */
export const ECHO_PORT = 7;

export interface BenchNames {
  /** nft table (family inet) netcg owns for this run. */
  table: string;
  /** cgroupParent: the profiles live in <net_cls>/<cgroupParent>/<profile>. */
  cgroupParent: string;
}

export const PROFILES = { unlocator: { classid: 42 }, vpn: { classid: 43, table: 43 } } as const;

/** YAML text of the bench config (profiles `unlocator` and `vpn`, as in the recipe). */
export function benchConfig(names: BenchNames): string {
  return `# netcg bench config (generated): the recipe's two profiles
table: ${names.table}
cgroupParent: ${names.cgroupParent}
profiles:
  unlocator:
    classid: ${PROFILES.unlocator.classid}
    dns: { redirect: ${UNLOCATOR_DNS.port} }
    ipv6: reject
  vpn:
    classid: ${PROFILES.vpn.classid}
    route:
      via: ${VPN.hostDev}
      table: ${PROFILES.vpn.table}
      copyLinkRoutes: true
      masquerade: true
`;
}
