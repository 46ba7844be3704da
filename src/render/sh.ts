// DesiredState → a POSIX shell script of iptables/ip6tables/ip commands in the
// style of the original recipe (mkdir + echo classid, `-m cgroup --cgroup N`,
// `ip rule add fwmark`), for people who audit netcg's policy or port it to a host
// without netcg. Pure: the caller gathers the host facts and cgroup roots.
//
// It is *equivalent*, not literal: netcg's table is `inet`, so its DNS redirect,
// mark and masquerade also apply to IPv6; the script therefore emits each of those
// for ip6tables too, and its ip rules/routes are exactly the ones netcg adds
// (priority and `protocol 110` included, so `ip rule` shows the same thing).
import type { Config, ProfileConfig } from '../config/index.js';
import { portServersOf, type PortServers } from '../compile/servers.js';
import type { CgroupSpec, DesiredState, ExistingCgroup, HostFacts } from '../shared/model.js';
import { renderIpBatch, type IpOp } from './ip.js';

export interface ShExportInput {
  config: Config;
  desired: DesiredState;
  /** Where the script creates cgroups by default (overridable with $NET_CLS / $CGROUP2 when run). */
  roots: { netCls: string; cgroup2?: string | undefined };
  /** Existing-cgroup profiles' cgroups as matched now (a wildcard pattern becomes one rule set per cgroup). */
  existing?: Readonly<Record<string, readonly ExistingCgroup[]>>;
  /** uids of the `dns.server`/`proxy.server` user names (HostFacts.users); numbers and root need none. */
  users?: HostFacts['users'];
}

/** iptables for IPv4, ip6tables for IPv6: both, for everything the inet table does in both families. */
const BOTH = ['iptables', 'ip6tables'] as const;

/** The `-m cgroup` match of a profile: its classid (net_cls), or its cgroup2 path relative to the root. */
function cgroupMatch(spec: CgroupSpec): string {
  return spec.hierarchy === 'net_cls'
    ? `-m cgroup --cgroup ${spec.classid}`
    : `-m cgroup --path ${spec.path}`;
}

function cgroupLines(spec: CgroupSpec): string[] {
  if (spec.existing)
    return [
      `# matches the existing cgroup $CGROUP2/${spec.path} in place (not created here; its processes are the members)`,
    ];
  if (spec.hierarchy === 'net_cls') {
    const dir = `"$NET_CLS/${spec.path}"`;
    const lines = [`mkdir -p ${dir}`, `echo ${spec.classid} > ${dir}/net_cls.classid`];
    if (spec.owner !== undefined) lines.push(`chown ${spec.owner}: ${dir}/tasks ${dir}/cgroup.procs`);
    return lines;
  }
  const dir = `"$CGROUP2/${spec.path}"`;
  const lines = [`mkdir -p ${dir}`];
  // Delegation as netcg does it: the owner gets the directory and the files that move processes.
  if (spec.owner !== undefined)
    lines.push(
      `chown ${spec.owner}: ${dir} ${dir}/cgroup.procs ${dir}/cgroup.threads ${dir}/cgroup.subtree_control`,
    );
  return lines;
}

function profileLines(p: ProfileConfig, spec: CgroupSpec): string[] {
  const m = cgroupMatch(spec);
  const lines: string[] = [];
  if (p.dns)
    for (const cmd of BOTH)
      for (const proto of ['udp', 'tcp'])
        lines.push(
          `${cmd} -t nat -A OUTPUT ${m} -p ${proto} --dport 53 -j REDIRECT --to-ports ${p.dns.redirect}`,
        );
  if (p.ipv6 === 'reject') lines.push(`ip6tables -A OUTPUT ${m} -j REJECT`);
  if (p.route) {
    for (const cmd of BOTH) lines.push(`${cmd} -t mangle -A OUTPUT ${m} -j MARK --set-mark ${p.route.mark}`);
    // netcg's `ct mark set meta mark`: the connection remembers the mark for its replies.
    for (const cmd of BOTH) lines.push(`${cmd} -t mangle -A OUTPUT ${m} -j CONNMARK --save-mark`);
  }
  return [...lines, ...offlineLines(p, m), ...proxyLines(p, m)];
}

/** netcg's offline_<profile> chain: DNS refused, loopback allowed, the rest rejected (TCP with a reset). */
function offlineLines(p: ProfileConfig, m: string): string[] {
  if (p.network !== 'offline') return [];
  return BOTH.flatMap((cmd) => [
    `${cmd} -A OUTPUT ${m} -p udp --dport 53 -j REJECT`,
    `${cmd} -A OUTPUT ${m} -p tcp --dport 53 -j REJECT --reject-with tcp-reset`,
    `${cmd} -A OUTPUT ${m} -m addrtype --dst-type LOCAL -j ACCEPT`,
    `${cmd} -A OUTPUT ${m} -p tcp -j REJECT --reject-with tcp-reset`,
    `${cmd} -A OUTPUT ${m} -j REJECT`,
  ]);
}

/**
 * netcg's proxy_<profile> and udp_<profile> chains. The UDP exception (the `dns`
 * redirect's port on a local address) is written as two rejects: not that port, or
 * not local.
 */
function proxyLines(p: ProfileConfig, m: string): string[] {
  if (!p.proxy) return [];
  const { tcp, udp } = p.proxy;
  return BOTH.flatMap((cmd) => [
    `${cmd} -t nat -A OUTPUT ${m} -p tcp -m addrtype ! --dst-type LOCAL -j REDIRECT --to-ports ${tcp}`,
    ...(udp !== 'reject'
      ? []
      : p.dns
        ? [
            `${cmd} -A OUTPUT ${m} -p udp ! --dport ${p.dns.redirect} -j REJECT`,
            `${cmd} -A OUTPUT ${m} -p udp -m addrtype ! --dst-type LOCAL -j REJECT`,
          ]
        : [`${cmd} -A OUTPUT ${m} -p udp -j REJECT`]),
  ]);
}

/**
 * netcg's filter_dnsreply and filter_proxyreply: replies of redirected connections
 * (`--ctdir REPLY --ctstate DNAT`) leaving from a redirect port are dropped unless
 * the socket is the server's (`-m owner`, the same owner as nft's `meta skuid`).
 * UDP every answer, TCP the listener's SYN-ACK. The uid is resolved at export time.
 */
function serverLines(servers: PortServers): string[] {
  const check = (uid: number) =>
    `-m conntrack --ctdir REPLY --ctstate DNAT -m owner ! --uid-owner ${uid} -j DROP`;
  return BOTH.flatMap((cmd) => [
    ...servers.dns.flatMap(({ port, uid }) => [
      `${cmd} -A OUTPUT -p udp --sport ${port} ${check(uid)}`,
      `${cmd} -A OUTPUT -p tcp --sport ${port} --tcp-flags SYN SYN ${check(uid)}`,
    ]),
    ...servers.proxy.map(
      ({ port, uid }) => `${cmd} -A OUTPUT -p tcp --sport ${port} --tcp-flags SYN SYN ${check(uid)}`,
    ),
  ]);
}

/** One MASQUERADE per distinct (mark, via), as netcg's nat_postrouting chain has. */
function masqueradeLines(profiles: ProfileConfig[]): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const { route } of profiles) {
    if (!route?.masquerade || seen.has(`${route.mark}/${route.via}`)) continue;
    seen.add(`${route.mark}/${route.via}`);
    for (const cmd of BOTH)
      lines.push(
        `${cmd} -t nat -A POSTROUTING -m mark --mark ${route.mark} --out-interface ${route.via} -j MASQUERADE`,
      );
  }
  return lines;
}

/**
 * netcg's filter_prerouting chain: replies get their connection's mark back before
 * routing, so with src_valid_mark=1 strict rp_filter checks them against the
 * profile's table (one rule per distinct mark, as netcg installs them).
 */
function restoreMarkLines(profiles: ProfileConfig[]): string[] {
  const marks = [...new Set(profiles.flatMap((p) => (p.route ? [p.route.mark] : [])))];
  if (marks.length === 0) return [];
  return [
    ...marks.flatMap((mark) =>
      BOTH.map(
        (cmd) => `${cmd} -t mangle -A PREROUTING -m connmark --mark ${mark} -j CONNMARK --restore-mark`,
      ),
    ),
    'sysctl -qw net.ipv4.conf.all.src_valid_mark=1',
  ];
}

/** `ip -4 …` / `ip -6 …` lines for ops, through the same renderer as the nft backend's `ip -batch`. */
export function ipCommandLines(ops: IpOp[]): string[] {
  return ops.map((op) => {
    const family = op.kind === 'rule' ? op.rule.family : op.route.family;
    return `ip -${family} ${renderIpBatch([op], family).trim()}`;
  });
}

/**
 * The specs whose `-m cgroup --path` rules a profile gets: its own; for an existing
 * cgroup with wildcards (iptables matches literal paths only), each cgroup the
 * pattern matched at export time (none: a comment says the profile waits).
 */
function matchedSpecs(spec: CgroupSpec, matched: readonly ExistingCgroup[] | undefined): CgroupSpec[] {
  if (!spec.existing || !/[*?]/.test(spec.path)) return [spec];
  return (matched ?? []).map((m) => ({ ...spec, path: m.path.slice(1) }));
}

export function renderShScript({ config, desired, roots, existing, users }: ShExportInput): string {
  const out = [
    '#!/bin/sh -e',
    `# netcg policy from ${config.file}, as iptables/ip6tables/ip commands (netcg export --format sh).`,
    '# Equivalent to what `netcg apply` installs; run it as root on a host without netcg.',
    "# netcg's table is inet, so the DNS redirect, mark and masquerade are emitted for IPv6 too.",
    `NET_CLS=\${NET_CLS:-${roots.netCls}}`,
  ];
  if (desired.cgroups.some((c) => c.hierarchy === 'cgroupv2'))
    out.push(`CGROUP2=\${CGROUP2:-${roots.cgroup2 ?? '/sys/fs/cgroup'}}`);
  for (const p of Object.values(config.profiles)) {
    const spec = desired.cgroups.find((c) => c.profile === p.name);
    if (!spec) continue;
    out.push('', `# profile ${p.name}`, ...cgroupLines(spec));
    for (const s of matchedSpecs(spec, existing?.[p.name])) out.push(...profileLines(p, s));
  }
  const servers = serverLines(
    portServersOf(config, Object.values(config.profiles), { linkRoutes: [], users }),
  );
  if (servers.length > 0)
    out.push(
      '',
      "# dns.server / proxy.server: members get answers from a redirect port only from the server's sockets",
      ...servers,
    );
  const routes: IpOp[] = desired.routes.map((route) => ({ verb: 'add', kind: 'route', route }));
  const rules: IpOp[] = desired.ipRules.map((rule) => ({ verb: 'add', kind: 'rule', rule }));
  if (routes.length + rules.length > 0) {
    out.push(
      '',
      "# policy routing: each routed profile's table (routes first, then the rules that use them)",
    );
    if (
      Object.values(config.profiles).some((p) => p.route?.gateway === 'auto' || p.route?.gateway6 === 'auto')
    )
      out.push(
        "# gateway: auto is resolved at export time (the main table's default route on via): these",
        '# next hops do not follow DHCP or a VPN client afterwards, as `netcg watch` does; none: unreachable',
      );
    out.push(...ipCommandLines(routes), ...ipCommandLines(rules));
  }
  const restore = restoreMarkLines(Object.values(config.profiles));
  if (restore.length > 0)
    out.push(
      '',
      '# strict rp_filter: replies get the mark back (connmark restore + src_valid_mark)',
      ...restore,
    );
  const masq = masqueradeLines(Object.values(config.profiles));
  if (masq.length > 0)
    out.push(
      '',
      '# source NAT to the VPN address (routing chose the source before the mark re-routed)',
      ...masq,
    );
  return `${out.join('\n')}\n`;
}
