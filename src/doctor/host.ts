// Checks of host software that can route around netcg: resolvers that do not use
// port 53, legacy iptables next to nf_tables, and the libnftnl the addon loaded.
import { error, info, ok, warn, type Finding } from './finding.js';

/** DNS-over-HTTPS/TLS clients: a program resolving through one talks 443/853, never port 53. */
export const DOH_CLIENTS = [
  'cloudflared',
  'dnscrypt-proxy',
  'doh-client',
  'doh-proxy',
  'stubby',
  'dnsproxy',
  'https_dns_proxy',
  'adguardhome',
  'AdGuardHome',
];

/** The `hosts:` line of nsswitch.conf, e.g. ['files', 'resolve', 'dns']. */
export function nssHostsSources(nsswitch: string): string[] {
  const line = nsswitch.split('\n').find((l) => /^\s*hosts\s*:/.test(l));
  if (!line) return [];
  return line
    .replace(/^\s*hosts\s*:/, '')
    .replace(/#.*/, '')
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('['));
}

export function checkResolver(
  nsswitch: string | undefined,
  processes: Array<{ pid: number; comm: string }>,
  dnsProfiles: string[],
): Finding[] {
  const out: Finding[] = [];
  const scope = dnsProfiles.length > 0 ? `the DNS redirect of ${dnsProfiles.join(', ')}` : 'a DNS redirect';
  const sources = nssHostsSources(nsswitch ?? '');
  const level = dnsProfiles.length > 0 ? warn : (c: string, m: string) => info(c, m);
  const resolveAt = sources.indexOf('resolve');
  const dnsAt = sources.indexOf('dns');
  if (resolveAt >= 0 && (dnsAt < 0 || resolveAt < dnsAt)) {
    out.push(
      level(
        'nss-resolve',
        `/etc/nsswitch.conf hosts: uses nss-resolve before dns: glibc lookups go to systemd-resolved over its varlink socket, not port 53, so ${scope} never sees them`,
        'remove `resolve [!UNAVAIL=return]` from the hosts: line (glibc then reads /etc/resolv.conf and queries port 53)',
      ),
    );
  } else
    out.push(
      ok(
        'nss-resolve',
        `hosts: in /etc/nsswitch.conf is "${sources.join(' ') || '(none)'}": lookups go to port 53`,
      ),
    );
  const doh = processes.filter((p) => DOH_CLIENTS.includes(p.comm));
  if (doh.length > 0) {
    const names = doh.map((p) => `${p.comm} (pid ${p.pid})`).join(', ');
    out.push(
      level(
        'doh-client',
        `DNS-over-HTTPS/TLS client running: ${names}; programs that resolve through it bypass port 53 and ${scope}`,
        'enroll the client itself in the profile, or point the members at a port 53 resolver',
      ),
    );
  } else out.push(ok('doh-client', 'no known DNS-over-HTTPS/TLS client is running'));
  return out;
}

/** /proc/net/ip_tables_names and ip6_tables_names of the namespace: legacy (x_tables) tables in use. */
export function checkIptablesLegacy(
  ipTablesNames: string | undefined,
  ip6TablesNames: string | undefined,
): Finding {
  const names = (t: string | undefined) =>
    (t ?? '')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  const v4 = names(ipTablesNames);
  const v6 = names(ip6TablesNames);
  if (v4.length + v6.length === 0) return ok('iptables-legacy', 'no iptables-legacy tables are loaded');
  const list = [...v4.map((n) => `ip ${n}`), ...v6.map((n) => `ip6 ${n}`)].join(', ');
  return warn(
    'iptables-legacy',
    `iptables-legacy tables are loaded (${list}); their rules run on the same hooks as nf_tables and can drop or NAT members' packets without showing in \`nft list ruleset\``,
    'inspect them with iptables-legacy-save / ip6tables-legacy-save; migrate them to nft (iptables-nft) or flush them',
  );
}

/** `libnftnl.so.11.6.0` -> { soname: 11, age: 6, revision: 0 } (libtool: so.<current-age>.<age>.<revision>). */
export function parseLibnftnlFile(
  file: string,
): { major: number; age: number; revision: number } | undefined {
  const m = /libnftnl\.so\.(\d+)\.(\d+)\.(\d+)$/.exec(file);
  return m ? { major: Number(m[1]), age: Number(m[2]), revision: Number(m[3]) } : undefined;
}

/** libnftnl 1.2.4, which the addon is built against, is libnftnl.so.11.6.0 (libtool version 17:0:6). */
export const LIBNFTNL_NEEDED = { version: '1.2.4', major: 11, age: 6 } as const;

/**
 * The addon is loaded lazily by the dynamic linker, so an older libnftnl with the same
 * soname loads and then fails on the first missing symbol: compare the file the
 * linker mapped (from /proc/self/maps) with what the build needs.
 */
export function checkLibnftnl(loaded: { file?: string; loadError?: string }): Finding {
  if (loaded.loadError)
    return error(
      'libnftnl',
      `the native addon does not load: ${loaded.loadError}`,
      'install libnftnl11 (>= 1.2.4) and libmnl0, then `npm run build:native`',
    );
  if (!loaded.file)
    return warn(
      'libnftnl',
      'the addon is loaded but no libnftnl.so is mapped (statically linked?)',
      'rebuild the addon with `npm run build:native` against the system libnftnl',
    );
  const v = parseLibnftnlFile(loaded.file);
  if (!v)
    return info('libnftnl', `libnftnl loaded from ${loaded.file} (version not readable from the file name)`);
  if (v.major !== LIBNFTNL_NEEDED.major)
    return error(
      'libnftnl',
      `${loaded.file} has soname ${v.major}, the addon needs libnftnl.so.${LIBNFTNL_NEEDED.major}`,
      'install libnftnl11 and rebuild the addon',
    );
  if (v.age < LIBNFTNL_NEEDED.age)
    return error(
      'libnftnl',
      `${loaded.file} is older than libnftnl ${LIBNFTNL_NEEDED.version} (so.11.${LIBNFTNL_NEEDED.age}) that the addon was built against; missing functions fail at first use`,
      `upgrade libnftnl to >= ${LIBNFTNL_NEEDED.version}`,
    );
  return ok(
    'libnftnl',
    `libnftnl ${loaded.file.replace(/^.*\//, '')} satisfies the addon (needs >= ${LIBNFTNL_NEEDED.version}, so.11.${LIBNFTNL_NEEDED.age})`,
  );
}
