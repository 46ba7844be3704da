// Checks of the target namespace's network settings, from sysctl values read in it:
// reverse-path filtering for VPN profiles, and IPv6 being off.
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
