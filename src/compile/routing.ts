// The rtnetlink half of compile: the recipe's `ip rule add fwmark M table T` and
// `ip route add default dev VIA table T` (plus, optionally, the host's link routes
// so the LAN stays reachable), for every distinct mark/table the profiles use.
// Everything is tagged with NETCG_RTPROT so netcg only ever touches its own.
import type { ProfileConfig, RouteConfig } from '../config/index.js';
import { DEFAULT_FAIL_CLOSED } from '../config/schema.js';
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

/**
 * Per routing table (one `via` each, validated by the config): the default route
 * out of `via` for both families, with failClosed an `unreachable default` behind
 * it (no device: it must outlive `via`), then with copyLinkRoutes the host's link routes
 * of that family, except those on `via` itself (the default route covers them)
 * and repeats of a destination (a table holds one route per destination).
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
      routes.push(route(DEFAULT_DST[family], r.via, 'universe'));
      // The kill switch: the kernel deletes `default dev VIA` with the link (and on
      // link down), but this route stays, so the ip rule still finds a route here and
      // never falls through to main. The backends give it the highest metric, so it
      // only answers while the unicast default is gone.
      if (r.failClosed ?? DEFAULT_FAIL_CLOSED)
        routes.push({ ...route(DEFAULT_DST[family], '', 'universe'), type: 'unreachable' });
      if (!r.copyLinkRoutes) continue;
      const links = facts.linkRoutes.filter(
        (l) => l.family === family && l.dev !== r.via && l.dst !== DEFAULT_DST[family],
      );
      // IPv6 has no link scope on routes: the kernel keeps them at universe.
      for (const l of distinct(links, (l) => l.dst))
        routes.push(route(l.dst, l.dev, family === 4 ? 'link' : 'universe'));
    }
  }
  return routes;
}
