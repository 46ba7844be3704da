// Rules that relate several values of a config: what the schema, which checks
// values one at a time, cannot see. These run on the raw parsed document even when
// the schema found problems elsewhere, so one run reports every issue; each check
// only looks at values that are valid on their own.
import { cgroupPathParts, cgroupPathProblem, cgroupPathWithin } from './cgroup-path.js';
import {
  DEFAULT_CGROUP_PARENT,
  DEFAULT_COPY_LINK_ROUTES,
  DEFAULT_FAIL_CLOSED,
  DEFAULT_MASQUERADE,
  PROFILE_NAME_RE,
  PROFILE_NAME_RULE,
  RESERVED_TABLES,
  gatewaysText,
  parseClassid,
  routeSchema,
  type RawRoute,
} from './schema.js';
import { AllocationError, allocate, allocationKey, type HostNumbers } from './allocate.js';

/** An issue located by key path; `at: 'key'` points at the key itself rather than its value. */
export interface PathIssue {
  path: string[];
  at: 'key' | 'value';
  message: string;
}

export interface RoutedProfile {
  name: string;
  /** Absent for a `match: cgroupv2` profile without one. */
  classid?: number;
  route: RawRoute;
}

export interface Routing {
  mark: number;
  table: number;
  copyLinkRoutes: boolean;
  masquerade: boolean;
  failClosed: boolean;
  /** True when netcg picked mark and table (no classid, no route.table, no route.mark): see allocate.ts. */
  allocated?: true;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Gives every routed profile its mark and table. Profiles that route via the same
 * interface share one mark, one table and so one ip rule, unless they set their
 * own; the shared value is the lowest classid among them (for the recipe's single
 * VPN profile with classid 43: mark 43, table 43). Reports derived tables the kernel
 * reserves, a table used for two interfaces, a mark that would select two tables,
 * and profiles that share a table or masquerade rule but disagree about it.
 */
export function deriveRouting(
  profiles: RoutedProfile[],
  host?: HostNumbers,
): {
  routing: Map<string, Routing>;
  issues: PathIssue[];
} {
  const issues: PathIssue[] = [];
  const lowestClassid = new Map<string, number>();
  for (const p of profiles)
    if (p.classid !== undefined)
      lowestClassid.set(
        tableKey(p.route),
        Math.min(p.classid, lowestClassid.get(tableKey(p.route)) ?? Infinity),
      );
  const allocated = allocatedNumbers(profiles, lowestClassid, host);

  const routing = new Map<string, Routing>();
  const sharing = new SharingCheck(issues);
  for (const p of profiles) {
    const auto = allocated.get(p.name);
    if (auto === null) {
      issues.push({
        path: ['profiles', p.name, 'route'],
        at: 'key',
        message: `netcg found no free routing table and mark for this profile (every candidate is in use); set route.table (and optionally route.mark), e.g. table: 100`,
      });
      continue;
    }
    const r = routingOf(p, auto, lowestClassid.get(tableKey(p.route)));
    if (!r) continue; // not reached: allocated above
    routing.set(p.name, r);
    const reserved = RESERVED_TABLES.get(r.table);
    if (reserved && p.route.table === undefined) {
      issues.push({
        path: routeKeyPath(p, 'table'),
        at: 'key',
        message: `the derived routing table ${r.table} (the lowest classid among profiles routing via ${p.route.via}) is the kernel's "${reserved}" table; set route.table explicitly, e.g. table: 100`,
      });
      continue;
    }
    sharing.table(p, r);
    sharing.mark(p, r);
    sharing.masquerade(p, r);
  }
  return { routing, issues };
}

/**
 * Which profiles share a derived table (the lowest classid among them): those with
 * the same `via` and, when they have any, the same gateways (a table has one default
 * route). Without gateways the key is `via` alone, as before gateways existed.
 */
function tableKey(route: RawRoute): string {
  const g = gatewaysText(route);
  return g === '' ? route.via : `${route.via} ${g}`;
}

/** A profile's routing: picked numbers, else its own, else the interface's lowest classid. */
function routingOf(
  p: RoutedProfile,
  auto: number | undefined,
  shared: number | undefined,
): Routing | undefined {
  // Without any classid (cgroup v2 only), the mark and the table default to each other.
  const mark = auto ?? p.route.mark ?? shared ?? p.route.table;
  const table = auto ?? p.route.table ?? shared ?? p.route.mark;
  if (mark === undefined || table === undefined) return undefined;
  return {
    mark,
    table,
    copyLinkRoutes: p.route.copyLinkRoutes ?? DEFAULT_COPY_LINK_ROUTES,
    masquerade: p.route.masquerade ?? DEFAULT_MASQUERADE,
    failClosed: p.route.failClosed ?? DEFAULT_FAIL_CLOSED,
    ...(auto !== undefined ? { allocated: true as const } : {}),
  };
}

/** The key an issue about `key` points at: the key when the profile sets it, else its route. */
function routeKeyPath(p: RoutedProfile, key: keyof RawRoute): string[] {
  return p.route[key] === undefined ? ['profiles', p.name, 'route'] : ['profiles', p.name, 'route', key];
}

/** Profiles that share a table, a mark or a masquerade rule must agree about it; the first one seen owns it. */
class SharingCheck {
  private readonly tables = new Map<
    number,
    { via: string; gateways: string; name: string; copyLinkRoutes: boolean; failClosed: boolean }
  >();
  private readonly marks = new Map<number, { table: number; name: string }>();
  private readonly masqs = new Map<string, { masquerade: boolean; name: string }>();

  constructor(private readonly issues: PathIssue[]) {}

  private report(p: RoutedProfile, key: keyof RawRoute, message: string): void {
    this.issues.push({ path: routeKeyPath(p, key), at: 'key', message });
  }

  table(p: RoutedProfile, r: Routing): void {
    const { via } = p.route;
    const user = this.tables.get(r.table);
    if (!user)
      this.tables.set(r.table, {
        via,
        gateways: gatewaysText(p.route),
        name: p.name,
        copyLinkRoutes: r.copyLinkRoutes,
        failClosed: r.failClosed,
      });
    else if (user.via !== via)
      this.report(
        p,
        'table',
        `routing table ${r.table} already routes via ${user.via} (profile "${user.name}"); a table has one default route, so give this profile (via ${via}) its own table`,
      );
    else if (user.gateways !== gatewaysText(p.route))
      this.report(
        p,
        p.route.gateway !== undefined ? 'gateway' : p.route.gateway6 !== undefined ? 'gateway6' : 'table',
        `routing table ${r.table} already routes via ${via} with ${user.gateways || 'no gateway'} (profile "${user.name}"), this profile with ${gatewaysText(p.route) || 'no gateway'}; a table has one default route, so set the same gateways or give this profile its own table`,
      );
    else if (user.copyLinkRoutes !== r.copyLinkRoutes)
      this.report(
        p,
        'copyLinkRoutes',
        `copyLinkRoutes is ${r.copyLinkRoutes} here but ${user.copyLinkRoutes} for profile "${user.name}", which shares routing table ${r.table}; set the same value on both`,
      );
    else if (user.failClosed !== r.failClosed)
      this.report(
        p,
        'failClosed',
        `failClosed is ${r.failClosed} here but ${user.failClosed} for profile "${user.name}", which shares routing table ${r.table} (the kill switch is a route in that table); set the same value on both`,
      );
  }

  mark(p: RoutedProfile, r: Routing): void {
    const user = this.marks.get(r.mark);
    if (!user) this.marks.set(r.mark, { table: r.table, name: p.name });
    else if (user.table !== r.table)
      this.report(
        p,
        'mark',
        `mark ${r.mark} (${hex(r.mark)}) already selects routing table ${user.table} (profile "${user.name}"); one mark can select only one table, so give this profile another mark`,
      );
  }

  masquerade(p: RoutedProfile, r: Routing): void {
    const key = `${r.mark}/${p.route.via}`;
    const user = this.masqs.get(key);
    if (!user) this.masqs.set(key, { masquerade: r.masquerade, name: p.name });
    else if (user.masquerade !== r.masquerade)
      this.report(
        p,
        'masquerade',
        `masquerade is ${r.masquerade} here but ${user.masquerade} for profile "${user.name}", which shares mark ${r.mark} and ${p.route.via}; set the same value on both`,
      );
  }
}

/** Whether netcg picks this profile's numbers: no classid, no route.table, no route.mark. */
export function picksNumbers(p: { classid?: number; route: Pick<RawRoute, 'mark' | 'table'> }): boolean {
  return p.classid === undefined && p.route.mark === undefined && p.route.table === undefined;
}

/**
 * Per profile whose numbers netcg picks, its number (table = mark), or null when
 * none is free; the numbers the config sets itself are never picked.
 */
function allocatedNumbers(
  profiles: RoutedProfile[],
  lowestClassid: ReadonlyMap<string, number>,
  host: HostNumbers | undefined,
): Map<string, number | null> {
  const tables = new Set<number>();
  const marks = new Set<number>();
  const keys = new Map<string, string>();
  for (const p of profiles) {
    if (picksNumbers(p)) {
      keys.set(
        p.name,
        allocationKey({
          via: p.route.via,
          gateways: gatewaysText(p.route),
          copyLinkRoutes: p.route.copyLinkRoutes ?? DEFAULT_COPY_LINK_ROUTES,
          failClosed: p.route.failClosed ?? DEFAULT_FAIL_CLOSED,
          masquerade: p.route.masquerade ?? DEFAULT_MASQUERADE,
        }),
      );
      continue;
    }
    const shared = lowestClassid.get(tableKey(p.route));
    const mark = p.route.mark ?? shared ?? p.route.table;
    const table = p.route.table ?? shared ?? p.route.mark;
    if (mark !== undefined) marks.add(mark);
    if (table !== undefined) tables.add(table);
  }
  const out = new Map<string, number | null>();
  if (keys.size === 0) return out;
  let numbers: Map<string, number>;
  try {
    numbers = allocate(keys.values(), { tables, marks }, host);
  } catch (err) {
    if (!(err instanceof AllocationError)) throw err;
    for (const name of keys.keys()) out.set(name, null);
    return out;
  }
  for (const [name, key] of keys) out.set(name, numbers.get(key)!);
  return out;
}

/**
 * `network: offline` keeps members on loopback, so a route out of an interface or a
 * redirect to a proxy (which would carry their traffic out) contradicts it.
 */
function offlineConflicts(name: string, profile: Record<string, unknown>): PathIssue[] {
  if (profile.network !== 'offline') return [];
  return (['route', 'proxy'] as const)
    .filter((key) => profile[key] !== undefined)
    .map((key) => ({
      path: ['profiles', name, key],
      at: 'key' as const,
      message: `profile "${name}" is offline (network: offline keeps members on loopback), so ${key} could never carry their traffic; remove ${key} or network`,
    }));
}

/** What a profile with `cgroup:` (an existing cgroup, matched in place) cannot also have: net_cls, owner, classid. */
function existingCgroupConflicts(name: string, profile: Record<string, unknown>): PathIssue[] {
  const cgroup = profile.cgroup as string;
  const issues: PathIssue[] = [];
  const at = (key: string, message: string) =>
    issues.push({ path: ['profiles', name, key], at: 'key', message });
  if (profile.match === 'net_cls')
    at(
      'cgroup',
      `cgroup ${cgroup} is matched by its cgroup2 ID, which match: net_cls cannot do (net_cls tags a cgroup netcg creates); set match: cgroupv2 or remove match`,
    );
  if (profile.owner !== undefined)
    at(
      'owner',
      `owner delegates a cgroup netcg creates, but profile "${name}" matches the existing cgroup ${cgroup}, whose membership is the service's (systemd's); remove owner`,
    );
  if (profile.classid !== undefined)
    at(
      'classid',
      `classid tags a net_cls cgroup netcg creates, but profile "${name}" matches the existing cgroup ${cgroup} by its cgroup2 ID; remove classid`,
    );
  return issues;
}

/**
 * Existing cgroups must stay out of netcg's own cgroupParent (netcg creates and
 * removes cgroups there) and must not overlap each other (a process in both would
 * be a member of two profiles). Two different wildcards in one component count as
 * disjoint.
 */
function existingCgroupOverlaps(
  raw: Record<string, unknown>,
  profiles: Record<string, unknown>,
): PathIssue[] {
  const parentText = typeof raw.cgroupParent === 'string' ? raw.cgroupParent : DEFAULT_CGROUP_PARENT;
  const parent = cgroupPathParts(parentText);
  const seen: Array<{ name: string; path: string; parts: string[] }> = [];
  const issues: PathIssue[] = [];
  for (const [name, profile] of Object.entries(profiles)) {
    if (!isMapping(profile) || typeof profile.cgroup !== 'string' || cgroupPathProblem(profile.cgroup))
      continue;
    const path = profile.cgroup;
    const parts = cgroupPathParts(path);
    const at = (message: string) => issues.push({ path: ['profiles', name, 'cgroup'], at: 'value', message });
    if (cgroupPathWithin(parent, parts) || cgroupPathWithin(parts, parent))
      at(
        `cgroup ${path} overlaps /${parentText}, the cgroupParent where netcg creates and removes its own profile cgroups; name a cgroup outside it`,
      );
    const other = seen.find((o) => cgroupPathWithin(o.parts, parts) || cgroupPathWithin(parts, o.parts));
    if (other)
      at(
        `cgroup ${path} overlaps ${other.path} of profile "${other.name}": a process in both would be a member of two profiles; give each profile cgroups of its own`,
      );
    seen.push({ name, path, parts });
  }
  return issues;
}

/**
 * The cross-value issues, and the routing derived on the way: for a config without
 * issues that is every routed profile's, so the loader need not derive it again.
 */
export function relationsOf(raw: unknown): { issues: PathIssue[]; routing: Map<string, Routing> } {
  if (!isMapping(raw) || !isMapping(raw.profiles)) return { issues: [], routing: new Map() };
  const issues: PathIssue[] = [];
  const classidOwner = new Map<number, string>();
  const routed: RoutedProfile[] = [];

  for (const [name, profile] of Object.entries(raw.profiles)) {
    if (!PROFILE_NAME_RE.test(name))
      issues.push({
        path: ['profiles', name],
        at: 'key',
        message: `"${name}" is not a valid profile name: ${PROFILE_NAME_RULE}`,
      });
    if (!isMapping(profile)) continue;

    if (
      profile.dns === undefined &&
      profile.ipv6 === undefined &&
      profile.route === undefined &&
      profile.network === undefined &&
      profile.proxy === undefined
    )
      issues.push({
        path: ['profiles', name],
        at: 'key',
        message: `profile "${name}" has no effect; give it at least one of dns: { redirect: PORT }, ipv6: reject, route: { via: IFACE }, network: offline, proxy: { tcp: PORT }`,
      });
    issues.push(...offlineConflicts(name, profile));
    if (typeof profile.cgroup === 'string') issues.push(...existingCgroupConflicts(name, profile));

    if (profile.classid === undefined) {
      if (profile.match !== 'cgroupv2' && profile.cgroup === undefined)
        issues.push({
          path: ['profiles', name, 'classid'],
          at: 'key',
          message: `required key "classid" is missing: profile "${name}" needs a classid (net_cls matches members by it${profile.match === undefined || profile.match === 'auto' ? ', and match: auto uses net_cls where the kernel has it' : ''}); add classid: N, or set match: cgroupv2 to match by cgroup v2 ID only`,
        });
    }
    // Exactly when classidSchema accepts it (a number or string that parseClassid reads), without a zod run per profile.
    const parsedClassid = parseClassid(profile.classid);
    if (typeof parsedClassid !== 'number') {
      const route = routeSchema.safeParse(profile.route);
      if (profile.classid === undefined && profile.route !== undefined && route.success)
        routed.push({ name, route: route.data });
      continue;
    }
    const classid = parsedClassid;
    const first = classidOwner.get(classid);
    if (first === undefined) classidOwner.set(classid, name);
    else
      issues.push({
        path: ['profiles', name, 'classid'],
        at: 'value',
        message: `classid ${classid} (${hex(classid)}) is already used by profile "${first}"; the classid is how the kernel tells profiles' packets apart, so give each profile its own`,
      });

    const route = routeSchema.safeParse(profile.route);
    if (profile.route !== undefined && route.success) routed.push({ name, classid, route: route.data });
  }
  issues.push(...existingCgroupOverlaps(raw, raw.profiles));
  const derived = deriveRouting(routed);
  return { issues: [...issues, ...derived.issues], routing: derived.routing };
}
