// The rtnetlink half of compile: the recipe's `ip rule add fwmark M table T` and
// `ip route add default dev VIA table T` (plus, optionally, the host's link routes
// so the LAN stays reachable), for every distinct mark/table the profiles use.
// Everything is tagged with NETCG_RTPROT so netcg only ever touches its own.
import type { ProfileConfig, RouteConfig } from '../config/index.js';
import { DEFAULT_FAIL_CLOSED, GATEWAY_AUTO } from '../config/schema.js';
import { NETCG_RTPROT, type HostFacts, type IpRuleSpec, type RouteSpec } from '../shared/model.js';

const FAMILIES = [4, 6] as const;
const DEFAULT_DST = { 4: '0.0.0.0/0', 6: '::/0' } as const;

function distinct<T>(items: T[], key: (item: T) => string | number): T[] {
  const seen = new Set<string | number>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function routesOf(profiles: ProfileConfig[]): RouteConfig[] {
  const routes: RouteConfig[] = [];
  for (const p of profiles) if (p.route) routes.push(p.route);
  return routes;
}

/** One rule per distinct (mark, table) and family; all IPv4 rules first, then IPv6. */
export function compileIpRules(
  profiles: ProfileConfig[],
  priority: number,
  routes: RouteConfig[] = routesOf(profiles),
): IpRuleSpec[] {
  // Per table, its marks: no key string per profile (10,000 profiles usually share one pair).
  const marksByTable = new Map<number, Set<number>>();
  const pairs = routes.filter((r) => {
    let marks = marksByTable.get(r.table);
    if (!marks) marksByTable.set(r.table, (marks = new Set()));
    if (marks.has(r.mark)) return false;
    marks.add(r.mark);
    return true;
  });
  return FAMILIES.flatMap((family) =>
    pairs.map(
      (r): IpRuleSpec => ({ family, priority, fwmark: r.mark, table: r.table, protocol: NETCG_RTPROT }),
    ),
  );
}

/** The interfaces whose main-table default route a `gateway: auto` route follows (the host facts to read). */
export function gatewayDevicesOf(profiles: Iterable<ProfileConfig>): string[] {
  const devs = new Set<string>();
  for (const p of profiles)
    if (p.route && (p.route.gateway === GATEWAY_AUTO || p.route.gateway6 === GATEWAY_AUTO))
      devs.add(p.route.via);
  return [...devs];
}

/**
 * A table's next hop for one family: undefined for `default dev VIA` (no gateway
 * configured at all), null when there is none (the family has no gateway while the
 * other has one, `auto` is unresolved, or an address is not on `via`'s subnets: via
 * down, or a wrong address; members get unreachable), else the address.
 */
function nextHopOf(r: RouteConfig, family: 4 | 6, facts: HostFacts): string | null | undefined {
  if (r.gateway === undefined && r.gateway6 === undefined) return undefined;
  const gw = family === 4 ? r.gateway : r.gateway6;
  if (gw === undefined) return null;
  if (gw !== GATEWAY_AUTO) return onLink(gw, family, r.via, facts) ? gw : null;
  const found = facts.defaultGateways?.find((g) => g.family === family && g.dev === r.via);
  return found?.gateway ?? null;
}

/**
 * Whether the kernel would take `gw` as a next hop on `dev`: inside one of the link
 * routes the kernel keeps for `dev`'s addresses (gone while `dev` is down), or an
 * IPv6 link-local address (on-link on every interface).
 */
function onLink(gw: string, family: 4 | 6, dev: string, facts: HostFacts): boolean {
  if (family === 6 && /^fe[89ab][0-9a-f]:/i.test(gw)) return true;
  const bits = addressBits(gw, family);
  return facts.linkRoutes.some((l) => {
    if (l.family !== family || l.dev !== dev) return false;
    const [net = '', len = '0'] = l.dst.split('/');
    const n = Number(len);
    return bits.slice(0, n) === addressBits(net, family).slice(0, n);
  });
}

/** An address as a string of '0'/'1', 32 or 128 long (valid addresses only: the schema checked them). */
function addressBits(addr: string, family: 4 | 6): string {
  if (family === 4)
    return addr
      .split('.')
      .map((o) => Number(o).toString(2).padStart(8, '0'))
      .join('');
  const [head = '', tail] = addr.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = groups(tail ?? '');
  const all = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.map((g) => Number.parseInt(g, 16).toString(2).padStart(16, '0')).join('');
}

/**
 * Per routing table (one `via` and gateway pair each, validated by the config): the
 * default route out of `via` for both families (through the gateway when the route
 * has one), with failClosed an `unreachable default` behind it (no device: it must
 * outlive `via`; also without failClosed when a gateway is configured but there is
 * none, so members never fall through to main or a VPN), then with copyLinkRoutes the
 * host's link routes of that family, except repeats of a destination (a table holds
 * one route per destination) and those on `via` when `default dev VIA` covers them.
 */
export function compileRoutes(
  profiles: ProfileConfig[],
  facts: HostFacts,
  routed: RouteConfig[] = routesOf(profiles),
): RouteSpec[] {
  const tables = distinct(routed, (r) => r.table);
  const routes: RouteSpec[] = [];
  for (const r of tables) {
    for (const family of FAMILIES) {
      const route = (dst: string, dev: string, scope: RouteSpec['scope']): RouteSpec => ({
        family,
        table: r.table,
        dst,
        dev,
        scope,
        protocol: NETCG_RTPROT,
        type: 'unicast',
      });
      const hop = nextHopOf(r, family, facts);
      if (hop !== null)
        routes.push({
          ...route(DEFAULT_DST[family], r.via, 'universe'),
          ...(hop !== undefined ? { gateway: hop } : {}),
        });
      // The kill switch: the kernel deletes `default dev VIA` with the link (and on
      // link down), but this route stays, so the ip rule still finds a route here and
      // never falls through to main. The backends give it the highest metric, so it
      // only answers while the unicast default is gone.
      if ((r.failClosed ?? DEFAULT_FAIL_CLOSED) || hop === null)
        routes.push({ ...route(DEFAULT_DST[family], '', 'universe'), type: 'unreachable' });
      if (!r.copyLinkRoutes) continue;
      // Through a gateway, `via`'s own LAN is not covered by the default route: copied too.
      const gatewayed = (family === 4 ? r.gateway : r.gateway6) !== undefined;
      const links = facts.linkRoutes.filter(
        (l) => l.family === family && (l.dev !== r.via || gatewayed) && l.dst !== DEFAULT_DST[family],
      );
      // IPv6 has no link scope on routes: the kernel keeps them at universe.
      for (const l of distinct(links, (l) => l.dst))
        routes.push(route(l.dst, l.dev, family === 4 ? 'link' : 'universe'));
    }
  }
  return routes;
}
