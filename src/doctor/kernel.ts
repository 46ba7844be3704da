// Kernel support: nf_tables and `socket cgroupv2` (from the probe transaction),
// net_cls and cgroup2 (from /proc/cgroups and mountinfo), and the v1/v2 mixing bug.
import { parseNetClsEnabled } from '../cgroups/match.js';
import { findCgroup2Mount, findNetClsMount, parseCgroupMounts } from '../cgroups/mountinfo.js';
import { error, info, ok, warn, type Finding } from './finding.js';

/** What the probe transaction (probe.ts) found: undefined = worked, else the kernel's error. */
export interface ProbeResult {
  nftables?: string;
  socketCgroupv2?: string;
}

export function checkNftables(probe: ProbeResult, where: string): Finding[] {
  if (probe.nftables !== undefined) {
    return [
      error(
        'nftables',
        `nf_tables is not usable ${where}: ${probe.nftables}`,
        'use a kernel with CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET, and run netcg as root (CAP_NET_ADMIN)',
      ),
    ];
  }
  const out = [
    ok('nftables', `nf_tables works ${where} (a probe table was created and deleted in one transaction)`),
  ];
  if (probe.socketCgroupv2 !== undefined) {
    out.push(
      warn(
        'socket-cgroupv2',
        `the kernel refused \`socket cgroupv2\`: ${probe.socketCgroupv2}; match: cgroupv2 profiles cannot work`,
        'use net_cls profiles (match: net_cls) or a kernel >= 5.13 with CONFIG_NFT_SOCKET',
      ),
    );
  } else
    out.push(
      ok('socket-cgroupv2', 'the kernel accepts `socket cgroupv2` (cgroup v2 profiles can be matched)'),
    );
  return out;
}

export interface CgroupUse {
  /** Profiles matched by classid (net_cls) / by cgroup2 ID, as resolved on this host. */
  netCls: string[];
  cgroupv2: string[];
}

export function checkCgroups(procCgroups: string, mountinfo: string, use: CgroupUse): Finding[] {
  const mounts = parseCgroupMounts(mountinfo);
  const out: Finding[] = [];
  const netClsKernel = parseNetClsEnabled(procCgroups);
  const netClsMount = findNetClsMount(mounts);
  const users = (names: string[]) => `profile${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
  if (!netClsKernel) {
    if (use.netCls.length > 0)
      out.push(
        error(
          'net_cls',
          `the kernel has no net_cls controller (not in /proc/cgroups, or disabled), but ${users(use.netCls)} match by classid`,
          'set match: cgroupv2 on them, or boot a kernel with CONFIG_CGROUP_NET_CLASSID',
        ),
      );
    else out.push(info('net_cls', 'the kernel has no net_cls controller; no profile needs it'));
  } else if (netClsMount) out.push(ok('net_cls', `net_cls is mounted at ${netClsMount.mountPoint}`));
  else
    out.push(
      ok(
        'net_cls',
        'net_cls is available but not mounted; `netcg apply` mounts it at /sys/fs/cgroup/net_cls when a profile needs it',
      ),
    );

  const cg2 = findCgroup2Mount(mounts);
  if (cg2) out.push(ok('cgroup2', `cgroup2 is mounted at ${cg2.mountPoint}`));
  else if (use.cgroupv2.length > 0)
    out.push(
      error(
        'cgroup2',
        `no cgroup2 hierarchy is mounted, but ${users(use.cgroupv2)} match by cgroup v2 ID`,
        'mount it: mount -t cgroup2 none /sys/fs/cgroup (or /sys/fs/cgroup/unified)',
      ),
    );
  else out.push(info('cgroup2', 'no cgroup2 hierarchy is mounted; no profile needs it'));
  return out;
}

/** "6.18.44-fc" -> [6, 18]; undefined when unparsable. */
export function kernelVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Before 5.15 a socket's cgroup data is a union: once net_cls writes a classid to it,
 * the cgroup2 pointer is gone and `socket cgroupv2` stops matching it (fixed by
 * "cgroup: Fix cgroup v1 and v2 mixing", 5.15). Harmful only when both are in play.
 */
export function checkMixedMatching(release: string, use: CgroupUse, netClsMounted: boolean): Finding {
  const v = kernelVersion(release);
  const old = v !== undefined && (v[0] < 5 || (v[0] === 5 && v[1] < 15));
  if (use.cgroupv2.length === 0)
    return ok('v1-v2-mixing', 'no cgroup v2 profiles: the pre-5.15 net_cls/cgroupv2 mixing bug cannot bite');
  if (!old)
    return ok(
      'v1-v2-mixing',
      `kernel ${release} keeps a socket's cgroup2 ID when net_cls tags it (fixed in 5.15)`,
    );
  if (use.netCls.length > 0) {
    return error(
      'v1-v2-mixing',
      `kernel ${release} (< 5.15) loses a socket's cgroup2 ID once net_cls tags it; with both classid and cgroup v2 profiles, \`socket cgroupv2\` silently stops matching`,
      'use one kind only (all match: net_cls, or all match: cgroupv2), or a kernel >= 5.15',
    );
  }
  if (netClsMounted) {
    return warn(
      'v1-v2-mixing',
      `kernel ${release} (< 5.15) and net_cls is mounted: any net_cls classid set by another tool disables \`socket cgroupv2\` for those sockets`,
      'unmount net_cls if nothing uses it, or use a kernel >= 5.15',
    );
  }
  return ok(
    'v1-v2-mixing',
    `kernel ${release} is older than 5.15 but net_cls is not in use, so cgroup v2 matching is safe`,
  );
}
