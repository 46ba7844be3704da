// Checks of the target namespace's network settings, from sysctl values read in it:
// reverse-path filtering for VPN profiles, and IPv6 being off.
import type { ProfileConfig } from '../config/index.js';
import { GATEWAY_AUTO } from '../config/schema.js';
import type { DefaultGateway } from '../shared/model.js';
import type { RtRule } from '../native/types.js';
import { error, info, ok, warn, type Finding } from './finding.js';

/** sysctl values by /proc/sys path below net/, e.g. `ipv4/conf/all/rp_filter` -> "1"; missing = absent. */
export type Sysctls = Record<string, string>;

/**
 * The kernel uses max(conf/all, conf/<dev>) for rp_filter. Strict mode (1) drops
 * replies arriving on the VPN interface, because without the fwmark the reverse
 * route points elsewhere; src_valid_mark=1 makes the check consider the mark.
 */
export function checkRpFilter(vias: string[], sysctl: Sysctls): Finding[] {
  if (vias.length === 0)
    return [ok('rp_filter', 'no profile routes via an interface: rp_filter does not matter')];
  const srcValidMark = sysctl['ipv4/conf/all/src_valid_mark'] ?? '0';
  const out: Finding[] = [];
  for (const dev of [...new Set(vias)]) {
    const own = sysctl[`ipv4/conf/${dev}/rp_filter`];
    const all = Number(sysctl['ipv4/conf/all/rp_filter'] ?? '0');
    if (own === undefined) {
      out.push(
        error(
          'rp_filter',
          `interface ${dev} (a profile's route.via) does not exist here, so its rp_filter cannot be checked`,
          `create ${dev} (bring the VPN up) before \`netcg apply\``,
        ),
      );
      continue;
    }
    const effective = Math.max(all, Number(own));
    if (effective === 1 && srcValidMark !== '1') {
      out.push(
        warn(
          'rp_filter',
          `rp_filter is strict (1) on ${dev} (max of all=${all} and ${dev}=${own}) and src_valid_mark is 0: replies to members arriving on ${dev} are dropped`,
          `sysctl -w net.ipv4.conf.${dev}.rp_filter=2 net.ipv4.conf.all.rp_filter=2 (loose), or net.ipv4.conf.all.src_valid_mark=1`,
        ),
      );
    } else if (effective === 1) {
      out.push(
        ok('rp_filter', `rp_filter is strict on ${dev}, but src_valid_mark=1 makes it honour netcg's fwmark`),
      );
    } else {
      out.push(
        ok(
          'rp_filter',
          `rp_filter on ${dev} is ${effective === 0 ? 'off (0)' : 'loose (2)'}: replies via ${dev} pass`,
        ),
      );
    }
  }
  return out;
}

export interface Ipv6Use {
  reject: string[];
  dns: string[];
}

/** IPv6 is off when the kernel has no ipv6 sysctls, disable_ipv6=1, or no address in /proc/net/if_inet6. */
export function checkIpv6(sysctl: Sysctls, ifInet6: string | undefined, use: Ipv6Use): Finding {
  const disabled =
    sysctl['ipv6/conf/all/disable_ipv6'] === undefined
      ? 'the kernel has no IPv6 (no net.ipv6 sysctls)'
      : sysctl['ipv6/conf/all/disable_ipv6'] === '1'
        ? 'net.ipv6.conf.all.disable_ipv6=1'
        : (ifInet6 ?? '').trim() === ''
          ? 'no interface has an IPv6 address (/proc/net/if_inet6 is empty)'
          : undefined;
  if (!disabled) return ok('ipv6', 'IPv6 is enabled');
  if (use.dns.length > 0) {
    return warn(
      'ipv6',
      `IPv6 is off (${disabled}): the DNS redirect of ${use.dns.join(', ')} works for IPv4 only; a member resolving over IPv6 (a nameserver ::1 or an IPv6 resolver in resolv.conf) fails instead of being redirected`,
      'keep IPv4 nameservers in /etc/resolv.conf, or enable IPv6 (sysctl -w net.ipv6.conf.all.disable_ipv6=0)',
    );
  }
  if (use.reject.length > 0)
    return info(
      'ipv6',
      `IPv6 is off (${disabled}): ipv6: reject of ${use.reject.join(', ')} is moot (there is no IPv6 to reject)`,
    );
  return ok('ipv6', `IPv6 is off (${disabled}); no profile relies on it`);
}

/** `gateway: auto`: what the main table's default route on `via` gives now, per profile and family. */
export function checkGateways(
  profiles: readonly ProfileConfig[],
  gateways: readonly DefaultGateway[] | undefined,
): Finding[] {
  const out: Finding[] = [];
  for (const p of profiles) {
    const r = p.route;
    if (!r) continue;
    for (const [family, key] of [
      [4, 'gateway'],
      [6, 'gateway6'],
    ] as const) {
      if (r[key] !== GATEWAY_AUTO) continue;
      if (!gateways) {
        out.push(
          info('gateway', `profile ${p.name}: ${key} auto on ${r.via} not checked (the addon did not load)`),
        );
        continue;
      }
      const g = gateways.find((x) => x.family === family && x.dev === r.via);
      out.push(
        g
          ? ok(
              'gateway',
              `profile ${p.name}: ${key} auto on ${r.via} is ${g.gateway} (the main table's default route)`,
            )
          : warn(
              'gateway',
              `profile ${p.name}: ${key} auto finds no IPv${family} default route on ${r.via} in the main table, so members' IPv${family} is unreachable until one appears`,
              `bring ${r.via}'s ${family === 4 ? 'DHCP lease' : 'router advertisement'} back (or add \`ip -${family} route add default via ADDRESS dev ${r.via}\`), or set route.${key} to the address`,
            ),
      );
    }
  }
  return out;
}

const RT_TABLE_LOCAL = 255;

/**
 * Foreign ip rules that come before netcg's (a lower priority number) and send
 * packets to a table other than local: a VPN's catch-all there (Tailscale's 5270
 * `lookup 52`, a hand-made rule) sees members' packets first, and if that table has
 * a route for the destination, members leave through it instead of `via`. wg-quick
 * (32764/32765) and OpenVPN's `def1` (routes in main) come after netcg's default 10000.
 */
export function checkRulePriority(
  profiles: readonly ProfileConfig[],
  priority: number,
  rules: readonly RtRule[] | undefined,
): Finding[] {
  const marks = profiles.flatMap((p) => (p.route ? [p.route.mark] : []));
  if (marks.length === 0 || !rules) return [];
  const before = rules.filter(
    (r) =>
      (r.priority ?? 0) < priority &&
      (r.action ?? 'to_tbl') === 'to_tbl' &&
      r.table !== RT_TABLE_LOCAL &&
      (r.fwmark === undefined ||
        r.invert === true ||
        marks.some(
          (m) => (m & (r.fwmask ?? 0xffffffff)) >>> 0 === (r.fwmark! & (r.fwmask ?? 0xffffffff)) >>> 0,
        )),
  );
  if (before.length === 0)
    return [
      ok('ip rules', `no foreign ip rule comes before netcg's (priority ${priority}) for members' packets`),
    ];
  return before.map((r) =>
    warn(
      'ip rules',
      `ipv${r.family} rule ${r.priority ?? 0} (lookup ${r.table}${r.fwmark !== undefined ? `, ${r.invert ? 'not ' : ''}fwmark 0x${r.fwmark.toString(16)}` : ''}) comes before netcg's rules (priority ${priority}): if table ${r.table} has a route for a member's destination, the member leaves through it instead of its via`,
      `set ipRulePriority below ${r.priority ?? 0} in the config`,
    ),
  );
}
