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

/** How the bench's profiles match members; undefined writes no `match:` key (auto). */
export type BenchMatch = 'auto' | 'net_cls' | 'cgroupv2' | undefined;

/** YAML text of the bench config (profiles `unlocator` and `vpn`, as in the recipe). */
export function benchConfig(names: BenchNames, match?: BenchMatch): string {
  // A cgroupv2 profile needs no classid: leave it out, so the config proves that.
  const id = (classid: number) =>
    match === 'cgroupv2' ? `match: cgroupv2` : `${match ? `match: ${match}\n    ` : ''}classid: ${classid}`;
  return `# netcg bench config (generated): the recipe's two profiles
table: ${names.table}
cgroupParent: ${names.cgroupParent}
profiles:
  unlocator:
    ${id(PROFILES.unlocator.classid)}
    dns: { redirect: ${UNLOCATOR_DNS.port} }
    ipv6: reject
  vpn:
    ${id(PROFILES.vpn.classid)}
    route:
      via: ${VPN.hostDev}
      table: ${PROFILES.vpn.table}
      copyLinkRoutes: true
      masquerade: true
`;
}
