// The config file's shape: one zod schema, the single source of truth for what a
// file may contain. It checks each value on its own (types, ranges, names);
// rules that relate several values (duplicate classids, shared routing tables)
// live in validate.ts. The schema is exported so a JSON Schema can be generated
// (`z.toJSONSchema(configSchema, { io: 'input' })`). Every message says what is
// wrong and what would be right.
import { isIPv4, isIPv6 } from 'node:net';

import { z } from 'zod';

import { cgroupPathProblem } from './cgroup-path.js';

export const DEFAULT_TABLE = 'netcg';
export const DEFAULT_CGROUP_PARENT = 'netcg';
/** Below the main table's rule (32766) and above the local table's (0); the usual spot for policy rules. */
export const DEFAULT_IP_RULE_PRIORITY = 10000;
export const DEFAULT_COPY_LINK_ROUTES = true;
export const DEFAULT_MASQUERADE = true;
/** Members' packets fail (unreachable) rather than fall back to the main table when `via` is gone. */
export const DEFAULT_FAIL_CLOSED = true;

/**
 * A profile's name becomes a cgroup directory and part of nft chain names, so it
 * must be one plain path component that every tool accepts: no '/', no leading
 * '.', no spaces, at most 64 characters.
 */
export const PROFILE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const PROFILE_NAME_RULE =
  'a profile name becomes a cgroup directory and part of nft chain names, so use 1-64 of A-Z a-z 0-9 _ . - and do not start with . or -';
/** nft identifiers: a letter or '_' first, then letters, digits, '_' or '-'. */
export const TABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** A user name as useradd accepts it, or a numeric uid. */
export const OWNER_RE = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$/;
/** Routing tables the kernel itself uses: unspec, default, main, local. */
export const RESERVED_TABLES: ReadonlyMap<number, string> = new Map([
  [0, 'unspec'],
  [253, 'default'],
  [254, 'main'],
  [255, 'local'],
]);
const U32_MAX = 0xffffffff;

function show(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return String(value);
}

/** An error callback for a wrong or missing value: "missing; expected X" / "expected X, got Y". */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing; expected ${what}` : `expected ${what}, got ${show(issue.input)}`;
}

/** Parses a classid written as a number, a decimal string or a 0x hex string; returns an error message instead if it is not one. */
export function parseClassid(value: unknown): number | string {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^0x[0-9a-f]{1,8}$/i.test(value.trim()))
    n = Number.parseInt(value.trim().slice(2), 16);
  else if (typeof value === 'string' && /^[0-9]+$/.test(value.trim())) n = Number(value.trim());
  else
    return `classid ${show(value)} is not a number; write it in decimal (42) or as hex 0xMMMMmmmm (0x0010002a = tc class 10:2a)`;
  if (!Number.isInteger(n))
    return `classid ${show(value)} is not a whole number; use an integer in 1..0xffffffff`;
  if (n === 0)
    return 'classid 0 means "no class" to net_cls, so members could not be told apart; use 1..0xffffffff';
  if (n < 0 || n > U32_MAX) return `classid ${show(value)} does not fit in 32 bits; use 1..0xffffffff`;
  return n;
}

export const classidSchema = z
  .union([z.number(), z.string()], {
    error: expected('a classid: a number in 1..0xffffffff or a hex string like "0x0010002a"'),
  })
  .superRefine((value, ctx) => {
    const parsed = parseClassid(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .describe(
    'net_cls classid of the profile: decimal, or 0xMMMMmmmm (major:minor as tc writes it); unique per profile',
  );

export const portSchema = z
  .number({ error: expected('a port number in 1..65535') })
  .int({ error: (i) => `port ${show(i.input)} is not a whole number; use 1..65535` })
  .min(1, { error: (i) => `port ${show(i.input)} is out of range; use 1..65535` })
  .max(65535, { error: (i) => `port ${show(i.input)} is out of range; use 1..65535` });

/** Why an interface name is not one the kernel accepts, or undefined if it is fine. */
export function ifnameProblem(name: string): string | undefined {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return 'interface name is empty; give the name of the VPN interface, e.g. tun0';
  if (bytes > 15)
    return `interface name "${name}" is ${bytes} bytes long; Linux allows at most 15 (IFNAMSIZ 16 with the final NUL)`;
  if (/[/:\s]/.test(name))
    return `interface name "${name}" contains '/', ':' or whitespace, which Linux does not allow in interface names`;
  if (name === '.' || name === '..') return `"${name}" is not a valid interface name`;
  return undefined;
}

export const ifnameSchema = z
  .string({ error: expected('an interface name such as tun0') })
  .superRefine((name, ctx) => {
    const problem = ifnameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: name });
  })
  .describe('network interface name (1-15 bytes, no "/", ":" or whitespace)');

function u32(what: string, min: number) {
  return z
    .number({ error: expected(`${what} in ${min}..0xffffffff`) })
    .int({ error: (i) => `${what} ${show(i.input)} is not a whole number; use ${min}..0xffffffff` })
    .min(min, { error: (i) => `${what} ${show(i.input)} is out of range; use ${min}..0xffffffff` })
    .max(U32_MAX, {
      error: (i) => `${what} ${show(i.input)} does not fit in 32 bits; use ${min}..0xffffffff`,
    });
}

export const markSchema = u32('mark', 1).describe(
  "firewall mark set on members' packets and matched by the ip rule; default: the lowest classid routing via the same interface, else the table, else picked by netcg (see docs/config.md)",
);

export const routingTableSchema = u32('table', 1)
  .superRefine((table, ctx) => {
    const name = RESERVED_TABLES.get(table);
    if (name)
      ctx.addIssue({
        code: 'custom',
        message: `table ${table} is the kernel's "${name}" table; pick another number, e.g. 100`,
        input: table,
      });
  })
  .describe(
    "routing table that holds the profile's routes; default: the lowest classid routing via the same interface, else the mark, else picked by netcg (see docs/config.md); not 0, 253, 254 or 255",
  );

/** The user whose sockets may answer members' redirected DNS (or accept their proxied TCP) when `server` is not written. */
export const DEFAULT_DNS_SERVER = 'root';

/** `dns.server` / `proxy.server`: a user name or uid whose sockets alone may answer from the redirect port. */
function serverSchema(what: string) {
  return z
    .union([z.string(), z.number().int().min(0)], { error: expected('a user name or a numeric uid') })
    .superRefine((user, ctx) => {
      if (!OWNER_RE.test(String(user)))
        ctx.addIssue({
          code: 'custom',
          message: `"${user}" is not a user name or uid; use a login name like unbound, or a number like 0`,
          input: user,
        });
    })
    .optional()
    .describe(what);
}

export const dnsSchema = z
  .strictObject(
    {
      redirect: portSchema.describe("local port that members' DNS (udp and tcp port 53) is redirected to"),
      server: serverSchema(
        "user (name or uid; default root) whose socket must send the answers from the redirect port: members get nothing from that port sent by any other user's socket",
      ),
    },
    { error: expected('a mapping like { redirect: 5354 }') },
  )
  .describe("redirect members' DNS queries to a local port");

/** `auto`: the main table's default route on `via` gives the gateway (followed by `netcg watch`). */
export const GATEWAY_AUTO = 'auto';

/** A route's gateways as normalized: `gateway: auto` also means `gateway6: auto` unless gateway6 is written. */
export function gatewaysOf(route: { gateway?: string | undefined; gateway6?: string | undefined }): {
  gateway?: string;
  gateway6?: string;
} {
  const out: { gateway?: string; gateway6?: string } = {};
  if (route.gateway !== undefined) out.gateway = route.gateway;
  const six = route.gateway6 ?? (route.gateway === GATEWAY_AUTO ? GATEWAY_AUTO : undefined);
  if (six !== undefined) out.gateway6 = six;
  return out;
}

/** The gateways as one text ('' without any): profiles sharing a routing table must have the same. */
export function gatewaysText(route: { gateway?: string | undefined; gateway6?: string | undefined }): string {
  const g = gatewaysOf(route);
  if (g.gateway === undefined && g.gateway6 === undefined) return '';
  return `gateway ${g.gateway ?? 'none'}, gateway6 ${g.gateway6 ?? 'none'}`;
}

/** A gateway key's value: `auto` or an address of the family (checked with node:net's isIPv4/isIPv6). */
function gatewaySchema(family: 4 | 6) {
  const what = family === 4 ? 'an IPv4 address like 198.18.10.1' : 'an IPv6 address like 2001:db8::1';
  const ok = family === 4 ? isIPv4 : isIPv6;
  return z.string({ error: expected(`${what} or auto`) }).superRefine((value, ctx) => {
    if (value !== GATEWAY_AUTO && !ok(value))
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `gateway${family === 6 ? '6' : ''} "${value}" is not ${what}; write the address, or auto for the main table's default route on via${family === 4 && isIPv6(value) ? ' (an IPv6 gateway goes in gateway6)' : ''}`,
      });
  });
}

export const routeSchema = z
  .strictObject(
    {
      via: ifnameSchema.describe("interface that members' traffic is policy-routed out of, e.g. tun0"),
      gateway: gatewaySchema(4)
        .optional()
        .describe(
          "next hop on `via` for members' IPv4 (an Ethernet or Wi-Fi `via` needs one), or auto: the gateway of the main table's default route on `via`, followed by `netcg watch`; auto also sets gateway6: auto unless gateway6 is given",
        ),
      gateway6: gatewaySchema(6)
        .optional()
        .describe(
          "next hop on `via` for members' IPv6, or auto (the main table's IPv6 default route on `via`); without it, while gateway is an address, members' IPv6 is unreachable",
        ),
      mark: markSchema.optional(),
      table: routingTableSchema.optional(),
      copyLinkRoutes: z
        .boolean({ error: expected('true or false') })
        .optional()
        .describe(
          "copy the main table's `proto kernel scope link` routes into the table, so the LAN stays reachable; default true",
        ),
      masquerade: z
        .boolean({ error: expected('true or false') })
        .optional()
        .describe("source-NAT members' packets leaving through `via` to its address; default true"),
      failClosed: z
        .boolean({ error: expected('true or false') })
        .optional()
        .describe(
          "kill switch: keep an `unreachable default` route in the table so members' packets fail instead of using the main table while `via` is down or missing; default true",
        ),
    },
    { error: expected('a mapping like { via: tun0 }') },
  )
  .describe("policy-route members' traffic out of an interface");

export const proxySchema = z
  .strictObject(
    {
      tcp: portSchema.describe(
        "local port that members' TCP to non-local destinations (both families) is redirected to; the original destination stays readable with SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST",
      ),
      udp: z
        .literal('reject', {
          error: (i) =>
            `proxy.udp ${show(i.input)} is not supported; the only value is "reject" (omit the key to leave UDP alone)`,
        })
        .optional()
        .describe(
          '"reject": members\' UDP is rejected, except their DNS that `dns` redirects (a proxy such as Tor carries no UDP)',
        ),
      server: serverSchema(
        "user (name or uid; default root) whose listening socket must accept members' connections on the proxy port: a listener of any other user gets no connection from them",
      ),
    },
    { error: expected('a mapping like { tcp: 9040 } or { tcp: 9040, udp: reject }') },
  )
  .describe(
    "transparent proxy: redirect members' TCP to a local port (Tor's TransPort, v2ray's dokodemo-door)",
  );

export const networkSchema = z
  .literal('offline', {
    error: (i) =>
      `network ${show(i.input)} is not supported; the only value is "offline" (omit the key for normal networking)`,
  })
  .describe(
    '"offline": members may talk to loopback only (IPv4 and IPv6); everything else is rejected at once (TCP reset, ICMP unreachable); DNS only through a `dns` redirect',
  );

export const ownerSchema = z
  .union([z.string(), z.number().int().min(0)], { error: expected('a user name or a numeric uid') })
  .superRefine((owner, ctx) => {
    if (!OWNER_RE.test(String(owner)))
      ctx.addIssue({
        code: 'custom',
        message: `"${owner}" is not a user name or uid; use a login name like md, or a number like 1000`,
        input: owner,
      });
  })
  .describe(
    "user who may enroll processes without root (net_cls: tasks and cgroup.procs are chowned to them; cgroup v2: the profile's cgroup is delegated to them)",
  );

/** How members are told apart: a net_cls classid (cgroup v1), the cgroup's ID (cgroup v2), or whichever the host has. */
export const MATCH_KINDS = ['auto', 'net_cls', 'cgroupv2'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];
export const DEFAULT_MATCH: MatchKind = 'auto';

export const matchSchema = z
  .enum(MATCH_KINDS, {
    error: (i) =>
      `match ${show(i.input)} is not known; use auto (net_cls where the kernel has it, else cgroup v2), net_cls or cgroupv2`,
  })
  .describe(
    "how members are matched: net_cls (v1 classid), cgroupv2 (the cgroup's ID, `socket cgroupv2`), or auto (default: net_cls where the kernel has it, cgroup v2 otherwise)",
  );

export const existingCgroupSchema = z
  .string({ error: expected('a cgroup path like /system.slice/transmission-daemon.service') })
  .superRefine((path, ctx) => {
    const problem = cgroupPathProblem(path);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: path });
  })
  .describe(
    'an existing cgroup whose processes are the members, matched in place (match: cgroupv2 only): its path below the cgroup2 root, e.g. /system.slice/transmission-daemon.service; `*` and `?` match within one component (/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-*.scope: every cgroup that fits). netcg never creates, moves processes into, or removes it; `netcg watch` follows it as it appears, goes and is re-created',
  );

export const profileSchema = z
  .strictObject(
    {
      match: matchSchema.optional(),
      cgroup: existingCgroupSchema.optional(),
      classid: classidSchema.optional(),
      owner: ownerSchema.optional(),
      dns: dnsSchema.optional(),
      ipv6: z
        .literal('reject', {
          error: (i) =>
            `ipv6 ${show(i.input)} is not supported; the only value is "reject" (omit the key to leave IPv6 alone)`,
        })
        .optional()
        .describe('"reject": every IPv6 packet members send is rejected'),
      route: routeSchema.optional(),
      network: networkSchema.optional(),
      proxy: proxySchema.optional(),
    },
    { error: expected('a mapping with classid and at least one of dns, ipv6, route, network, proxy') },
  )
  .describe('a set of processes (a cgroup: net_cls or cgroup v2) and the policy for their traffic');

export const configSchema = z
  .strictObject(
    {
      table: z
        .string({ error: expected('an nft table name') })
        .regex(TABLE_NAME_RE, {
          error: (i) =>
            `table ${show(i.input)} is not an nft identifier; use a letter or _ then letters, digits, _ or - (at most 64)`,
        })
        .optional()
        .describe(
          `nft table (family inet) that netcg owns; apply changes only what differs, in one transaction; default ${DEFAULT_TABLE}`,
        ),
      cgroupParent: z
        .string({ error: expected('a cgroup directory name') })
        .superRefine((parent, ctx) => {
          if (!parent.split('/').every((part) => PROFILE_NAME_RE.test(part)))
            ctx.addIssue({
              code: 'custom',
              input: parent,
              message: `cgroupParent "${parent}" is not a relative cgroup path; use names of A-Z a-z 0-9 _ . - separated by '/', e.g. netcg`,
            });
        })
        .optional()
        .describe(
          `directory below the net_cls hierarchy that holds the profiles' cgroups; default ${DEFAULT_CGROUP_PARENT}`,
        ),
      ipRulePriority: z
        .number({ error: expected('an ip rule priority in 1..32765') })
        .int({ error: (i) => `ipRulePriority ${show(i.input)} is not a whole number; use 1..32765` })
        .min(1, {
          error: (i) =>
            `ipRulePriority ${show(i.input)} would come before the local table's rule (0); use 1..32765`,
        })
        .max(32765, {
          error: (i) =>
            `ipRulePriority ${show(i.input)} would come after the main table's rule (32766); use 1..32765`,
        })
        .optional()
        .describe(`priority of netcg's ip rules (both families); default ${DEFAULT_IP_RULE_PRIORITY}`),
      profiles: z
        .record(z.string(), profileSchema, { error: expected('a mapping of profile names to profiles') })
        .describe('profiles by name; the name is the cgroup directory'),
    },
    { error: expected('a mapping with at least a `profiles:` key') },
  )
  .describe('netcg configuration');

export type RawRoute = z.input<typeof routeSchema>;

/** A profile with every default applied and mark/table derived. */
export interface ProfileConfig {
  name: string;
  /** As written; absent means auto. Resolved per host by resolveMatch (src/compile/match.ts). */
  match?: MatchKind;
  /** Required unless match is cgroupv2 (then kept, but not used for matching). */
  classid?: number;
  /**
   * An existing cgroup2 cgroup (pattern) matched in place, e.g. '/system.slice/x.service':
   * netcg creates nothing for the profile; match is then cgroupv2.
   */
  cgroup?: string;
  owner?: string;
  /** `server`: the user (name or uid, as written) whose sockets may answer; absent: root. */
  dns?: { redirect: number; server?: string };
  ipv6?: 'reject';
  route?: RouteConfig;
  network?: 'offline';
  proxy?: ProxyConfig;
}

export interface ProxyConfig {
  tcp: number;
  udp?: 'reject';
  /** The user (name or uid, as written) whose listening socket may accept; absent: root. */
  server?: string;
}

export interface RouteConfig {
  via: string;
  mark: number;
  table: number;
  copyLinkRoutes: boolean;
  masquerade: boolean;
  /**
   * An `unreachable default` route (both families) stays in the table when `via` goes
   * away. The loader always sets it; absent (a RouteConfig built by hand) means the default, true.
   */
  failClosed?: boolean;
  /** netcg picked mark and table (the profile sets neither, nor a classid): src/config/allocate.ts. */
  allocated?: true;
  /** Next hop for IPv4 on `via`: an address, or 'auto' (resolved from the main table by the host facts). Absent: `default dev VIA`. */
  gateway?: string;
  /** The same for IPv6. */
  gateway6?: string;
}

/** A checked, normalized config. `profiles` keeps the file's order. */
export interface Config {
  /** Where it was read from (for messages). */
  file: string;
  table: string;
  cgroupParent: string;
  ipRulePriority: number;
  profiles: Record<string, ProfileConfig>;
}
