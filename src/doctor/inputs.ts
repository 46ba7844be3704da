// Everything doctor looks at, read once (impure). The checks take these values, so
// each can be tested with crafted text instead of a crafted host.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

import type { Config } from '../config/index.js';
import type { TrustFinding } from '../config/trust.js';
import { gatewayDevicesOf } from '../compile/index.js';
import { NETCG_RTPROT, type DefaultGateway, type ExistingCgroup } from '../shared/model.js';
import type { NetlinkHandle, RtRule } from '../native/types.js';
import type { ServerStatus } from '../status/model.js';
import type { ChainInfo } from './chains.js';
import type { ProbeResult } from './kernel.js';
import type { Sysctls } from './net.js';
import { probeNftables } from './probe.js';

export interface DoctorInputs {
  /** Where the namespace-bound checks looked (--netns, or undefined: ours). */
  netns?: string;
  config?: Config;
  /** Why the config could not be used (then the config-dependent checks are generic). */
  configError?: string;
  /** As root: why someone other than root could change the config (netcg refuses it then). */
  configTrust?: readonly TrustFinding[];
  kernelRelease: string;
  procCgroups: string;
  mountinfo: string;
  nsswitch?: string;
  processes: Array<{ pid: number; comm: string }>;
  /** Paths below /proc/sys/net/ -> value, read in the target namespace. */
  sysctl: Sysctls;
  ifInet6?: string;
  ipTablesNames?: string;
  ip6TablesNames?: string;
  probe: ProbeResult;
  /** Every base and regular chain of every table in the target namespace. */
  chains: ChainInfo[];
  libnftnl: { file?: string; loadError?: string };
  /** The main table's default gateways on the `gateway: auto` vias (absent: not read, the addon did not load). */
  defaultGateways?: DefaultGateway[];
  /** ip rules that are not netcg's (absent: not read). */
  foreignRules?: RtRule[];
  /** Per existing-cgroup profile (`cgroup:`), the cgroups its pattern matches now (absent: not read). */
  existingCgroups?: Record<string, readonly ExistingCgroup[]>;
  /** Per `dns`/`proxy` redirect port, who listens there (absent: not read, the addon did not load). */
  servers?: ServerStatus[];
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Reads files of another network namespace's /proc (whose net/ and sys/net/ are the
 * reader's namespace's): through `nsenter --net=PATH grep -sH '' FILES…` since
 * Node cannot switch namespaces. Missing files are simply absent from the result.
 */
export function readNamespaceFiles(netns: string | undefined, paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (netns === undefined) {
    for (const p of paths) {
      const v = readOr(p);
      if (v !== undefined) out[p] = v;
    }
    return out;
  }
  const r = spawnSync('nsenter', [`--net=${netns}`, 'grep', '-sH', '', ...paths], { encoding: 'utf8' });
  if (r.error) throw r.error;
  for (const p of paths) out[p] = '';
  const seen = new Set<string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const p = paths.find((x) => line.startsWith(`${x}:`));
    if (!p) continue;
    seen.add(p);
    out[p] += `${line.slice(p.length + 1)}\n`;
  }
  // grep prints nothing for an empty file and for a missing one: tell them apart.
  for (const p of paths)
    if (!seen.has(p) && spawnSync('nsenter', [`--net=${netns}`, 'test', '-e', p]).status !== 0) delete out[p];
  return out;
}

function processes(): Array<{ pid: number; comm: string }> {
  const list: Array<{ pid: number; comm: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = readOr(`/proc/${entry}/comm`);
    if (comm !== undefined) list.push({ pid: Number(entry), comm: comm.trim() });
  }
  return list;
}

/** The libnftnl file the dynamic linker mapped into this process (after loading the addon). */
function mappedLibnftnl(): string | undefined {
  const maps = readOr('/proc/self/maps') ?? '';
  return /\s(\/\S*libnftnl\.so[^\s]*)$/m.exec(maps)?.[1];
}

export async function gatherInputs(opts: {
  netns?: string;
  config?: Config;
  configError?: string;
  configTrust?: readonly TrustFinding[];
}): Promise<DoctorInputs> {
  const vias = Object.values(opts.config?.profiles ?? {}).flatMap((p) => (p.route ? [p.route.via] : []));
  const sys = (k: string) => `/proc/sys/net/${k}`;
  const sysKeys = [
    'ipv4/conf/all/rp_filter',
    'ipv4/conf/all/src_valid_mark',
    'ipv6/conf/all/disable_ipv6',
    ...[...new Set(vias)].map((d) => `ipv4/conf/${d}/rp_filter`),
  ];
  const files = readNamespaceFiles(opts.netns, [
    ...sysKeys.map(sys),
    '/proc/net/if_inet6',
    '/proc/net/ip_tables_names',
    '/proc/net/ip6_tables_names',
  ]);
  const sysctl: Sysctls = {};
  for (const k of sysKeys) if (files[sys(k)] !== undefined) sysctl[k] = files[sys(k)]!.trim();

  let probe: ProbeResult = { nftables: 'not probed (the addon did not load)', socketCgroupv2: 'not probed' };
  let chains: ChainInfo[] = [];
  let libnftnl: DoctorInputs['libnftnl'];
  let routing: Pick<DoctorInputs, 'defaultGateways' | 'foreignRules'> = {};
  let existing: Pick<DoctorInputs, 'existingCgroups'> = {};
  let servers: Pick<DoctorInputs, 'servers'> = {};
  try {
    // Loaded here, not at import time, so a broken addon is a finding rather than a crash.
    const { openHandle } = await import('../native/index.js');
    const file = mappedLibnftnl();
    libnftnl = file ? { file } : {};
    const h = openHandle(opts.netns);
    try {
      routing = await readRouting(h, opts.netns, opts.config);
      existing = await readExisting(opts.config);
      servers = await readServers(opts.config, opts.netns);
      probe = probeNftables(h);
      if (probe.nftables === undefined) {
        const dump = h.nftDump();
        chains = dump.chains.map((c) => ({
          family: c.family,
          table: c.table,
          name: c.name,
          ...(c.hook ? { hook: c.hook } : {}),
          rules: dump.rules.filter((r) => r.family === c.family && r.table === c.table && r.chain === c.name)
            .length,
        }));
      }
    } finally {
      h.close();
    }
  } catch (err) {
    libnftnl = { loadError: (err as Error).message.split('\n')[0]! };
  }

  return {
    ...(opts.netns ? { netns: opts.netns } : {}),
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.configError ? { configError: opts.configError } : {}),
    ...(opts.configTrust ? { configTrust: opts.configTrust } : {}),
    kernelRelease: release(),
    procCgroups: readOr('/proc/cgroups') ?? '',
    mountinfo: readOr('/proc/self/mountinfo') ?? '',
    ...(readOr('/etc/nsswitch.conf') !== undefined ? { nsswitch: readOr('/etc/nsswitch.conf')! } : {}),
    processes: processes(),
    sysctl,
    ...(files['/proc/net/if_inet6'] !== undefined ? { ifInet6: files['/proc/net/if_inet6'] } : {}),
    ...(files['/proc/net/ip_tables_names'] !== undefined
      ? { ipTablesNames: files['/proc/net/ip_tables_names'] }
      : {}),
    ...(files['/proc/net/ip6_tables_names'] !== undefined
      ? { ip6TablesNames: files['/proc/net/ip6_tables_names'] }
      : {}),
    probe,
    chains,
    libnftnl,
    ...routing,
    ...existing,
    ...servers,
  };
}

/** Who listens on the redirect ports; a failed read leaves them unchecked (said so), not a broken addon. */
async function readServers(
  config: Config | undefined,
  netns: string | undefined,
): Promise<Pick<DoctorInputs, 'servers'>> {
  if (!config) return {};
  const { collectServers } = await import('../status/collect.js');
  try {
    return { servers: collectServers(config, netns) };
  } catch {
    return {};
  }
}

/** What the existing-cgroup profiles' patterns match now (loaded lazily, like the addon the IDs need). */
async function readExisting(config: Config | undefined): Promise<Pick<DoctorInputs, 'existingCgroups'>> {
  const users = Object.values(config?.profiles ?? {}).filter((p) => p.cgroup !== undefined);
  if (users.length === 0) return {};
  const { findCgroup2 } = await import('../cgroups/cgroup2.js');
  const { walkCgroupPattern } = await import('../cgroups/existing.js');
  const root = findCgroup2();
  if (!root) return {};
  return {
    existingCgroups: Object.fromEntries(
      users.map((p) => [p.name, walkCgroupPattern(root, p.cgroup!).matches]),
    ),
  };
}

/** Foreign ip rules, and the default gateways `gateway: auto` resolves to (the backend's own reading). */
async function readRouting(
  h: NetlinkHandle,
  netns: string | undefined,
  config: Config | undefined,
): Promise<Pick<DoctorInputs, 'defaultGateways' | 'foreignRules'>> {
  const foreignRules = ([4, 6] as const)
    .flatMap((f) => h.ruleDump(f))
    .filter((r) => r.protocol !== NETCG_RTPROT);
  const gatewayDevices = gatewayDevicesOf(Object.values(config?.profiles ?? {}));
  if (gatewayDevices.length === 0) return { foreignRules };
  const { NetlinkBackend } = await import('../backends/netlink.js');
  const b = new NetlinkBackend(netns);
  try {
    return { foreignRules, defaultGateways: b.hostFacts({ gatewayDevices }).defaultGateways ?? [] };
  } finally {
    b.close();
  }
}
