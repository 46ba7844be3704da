// The sysctls the ruleset depends on, as values the target namespace must have.
// Pure: apply (src/apply/sysctls.ts) reads the kernel's values and writes only those that differ.
import type { Config } from '../config/index.js';

/** A sysctl by its dotted name (net.ipv4.conf.all.src_valid_mark) and the value netcg needs. */
export type SysctlValues = Record<string, string>;

/**
 * With a routed profile: src_valid_mark=1, so reverse-path filtering uses the packet's
 * mark (restored from the connection at prerouting) when it checks a reply's source.
 * Without it strict rp_filter (1) looks the source up in main, where `via` is not the
 * way back, and drops every reply that comes in on the VPN interface. The kernel ORs
 * `all` with the interface's own value, so `all` covers every interface, now and later.
 */
export function compileSysctls(config: Pick<Config, 'profiles'>): SysctlValues {
  // A loop that stops at the first routed profile: Object.values() of 10,000 profiles costs more than the answer.
  let routed = false;
  for (const name in config.profiles) {
    if (config.profiles[name]!.route) {
      routed = true;
      break;
    }
  }
  return routed ? { 'net.ipv4.conf.all.src_valid_mark': '1' } : {};
}
