// buildStatus: config + what was read back (netcg's table with its counters, the
// diff plan, links, cgroups) -> StatusSnapshot. Pure, so every mapping below is
// unit-tested with fixtures.
import type { Config, ProfileConfig } from '../config/index.js';
import type { LinkInfo } from '../backends/types.js';
import type { ExistingCgroup, Expr, RouteSpec, TableState } from '../shared/model.js';
import type { Change, Plan } from '../plan/plan.js';
import { changeText } from '../plan/text.js';
import {
  exprsText,
  type ElementView,
  type IpRuleView,
  type RouteView,
  type RuleView,
} from '../plan/views.js';
import {
  STATUS_JSON_VERSION,
  type GatewayStatus,
  type LinkState,
  type ProfileMatchStatus,
  type ProfileStatus,
  type Rates,
  type RuleCounter,
  type ServerStatus,
  type StatusSnapshot,
} from './model.js';

/** Per profile, what src/cgroups says about its cgroup. */
export interface ProfileCgroupInfo {
  match: 'net_cls' | 'cgroupv2';
  dir: string | null;
  id?: bigint;
  members: number;
  /** An existing-cgroup profile (`cgroup:`; `dir` is then its pattern): the cgroups it matches now. */
  existing?: readonly ExistingCgroup[];
}

export interface StatusInput {
  config: Config;
  /** netcg's table as read back (rules carry their counter exprs); undefined when it does not exist. */
  table: TableState | undefined;
  /** The plan `netcg diff` would print for the same read. */
  plan: Plan;
  links: LinkInfo[];
  /** netcg's routes as read back (the gateways in use now); absent: not shown. */
  routes?: readonly RouteSpec[];
  cgroups: Record<string, ProfileCgroupInfo>;
  /** Per redirect port, who listens there (src/status/servers.ts); absent: none shown. */
  servers?: ServerStatus[];
  netns?: string;
  time: number;
}

const FEATURE_PREFIXES = ['dns_', 'ipv6_', 'route_', 'offline_', 'proxy_', 'udp_'] as const;

/** The profile whose own chain this is (`<feature>_<profile>`), if any. */
export function profileOfChain(chain: string, profiles: Record<string, unknown>): string | undefined {
  for (const prefix of FEATURE_PREFIXES) {
    if (chain.startsWith(prefix) && Object.hasOwn(profiles, chain.slice(prefix.length)))
      return chain.slice(prefix.length);
  }
  return undefined;
}

/** The counter of a rule: the first counter expression (netcg puts exactly one on each rule). */
function counterOf(exprs: readonly Expr[]): { packets: number; bytes: number } {
  const c = exprs.find((e): e is Extract<Expr, { type: 'counter' }> => e.type === 'counter');
  return { packets: c?.packets ?? 0, bytes: c?.bytes ?? 0 };
}

/** nft's text of the rule with its counter left out (the numbers are shown in columns). */
function ruleLabel(exprs: readonly Expr[]): string {
  return exprsText(exprs.filter((e) => e.type !== 'counter'))
    .replace(/\s+/g, ' ')
    .trim();
}

function countersOf(table: TableState | undefined, chains: (name: string) => boolean): RuleCounter[] {
  if (!table) return [];
  return table.chains
    .filter((c) => chains(c.name))
    .flatMap((c) =>
      c.rules.map((r) => ({
        chain: c.name,
        rule: ruleLabel(r.exprs),
        ...(r.handle !== undefined ? { handle: r.handle } : {}),
        ...counterOf(r.exprs),
      })),
    );
}

/** The chain name in a rule/chain change's id (`chain#handle`, `chain[pos]`, `chain`). */
function chainOfId(id: string): string {
  return id.replace(/(#\S+|\[\d+\])$/, '');
}

/** Which profile a plan change concerns; undefined for shared objects (table, maps, base chains, masquerade). */
export function profileOfChange(c: Change, config: Config): string | undefined {
  const profiles = config.profiles;
  const view = (c.after ?? c.before) as unknown;
  switch (c.kind) {
    case 'chain':
      return profileOfChain(c.id, profiles);
    case 'rule':
      return profileOfChain((view as RuleView | undefined)?.chain ?? chainOfId(c.id), profiles);
    case 'element': {
      // The element jumps into a profile's chain; a stale one may jump nowhere known, then its key decides.
      const e = view as ElementView;
      const byChain = profileOfChain(e.value.replace(/^(jump|goto) /, ''), profiles);
      if (byChain) return byChain;
      return Object.values(profiles).find((p) => p.classid !== undefined && String(p.classid) === e.key)
        ?.name;
    }
    case 'ip rule': {
      const r = view as IpRuleView;
      return Object.values(profiles).find(
        (p) => p.route && p.route.mark === r.fwmark && p.route.table === r.table,
      )?.name;
    }
    case 'route': {
      const r = view as RouteView;
      return Object.values(profiles).find((p) => p.route && p.route.table === r.table)?.name;
    }
    default:
      return undefined;
  }
}

/** A plan change as one line, the way `netcg diff` prints it (without colour). */
export { changeText };

/** The configured gateways and the next hops of the table's unicast defaults now. */
function gatewaysStatus(
  route: NonNullable<ProfileConfig['route']>,
  routes: readonly RouteSpec[],
): { gateway?: GatewayStatus; gateway6?: GatewayStatus } {
  const now = (family: 4 | 6) =>
    routes.find(
      (r) =>
        r.family === family &&
        r.table === route.table &&
        r.type === 'unicast' &&
        (r.dst === '0.0.0.0/0' || r.dst === '::/0'),
    )?.gateway ?? null;
  return {
    ...(route.gateway !== undefined ? { gateway: { configured: route.gateway, current: now(4) } } : {}),
    ...(route.gateway6 !== undefined ? { gateway6: { configured: route.gateway6, current: now(6) } } : {}),
  };
}

function linkState(links: LinkInfo[], name: string): LinkState {
  const l = links.find((x) => x.name === name);
  return l ? (l.up ? 'up' : 'down') : 'absent';
}

function matchStatus(p: ProfileConfig, cg: ProfileCgroupInfo | undefined): ProfileMatchStatus {
  const kind = cg?.match ?? (p.match === 'cgroupv2' ? 'cgroupv2' : 'net_cls');
  return {
    kind,
    ...(kind === 'net_cls' && p.classid !== undefined ? { classid: p.classid } : {}),
    cgroup: cg?.dir ?? null,
    ...(kind === 'cgroupv2' && cg?.id !== undefined ? { id: cg.id.toString() } : {}),
    ...(cg?.existing
      ? {
          existing: cg.existing.map((c) => ({ path: c.path, id: c.id.toString() })),
          ...(cg.existing.length === 0 ? { waiting: true as const } : {}),
        }
      : {}),
  };
}

export function buildStatus(input: StatusInput): StatusSnapshot {
  const { config, table, plan } = input;
  const drift = new Map<string | undefined, string[]>();
  for (const c of plan.changes) {
    const owner = profileOfChange(c, config);
    drift.set(owner, [...(drift.get(owner) ?? []), changeText(c)]);
  }
  const profiles: ProfileStatus[] = Object.values(config.profiles).map((p) => {
    const rules = countersOf(table, (chain) => profileOfChain(chain, { [p.name]: true }) === p.name);
    const cg = input.cgroups[p.name];
    return {
      name: p.name,
      match: matchStatus(p, cg),
      members: cg?.members ?? 0,
      features: {
        ...(p.dns ? { dns: { ...p.dns } } : {}),
        ...(p.ipv6 ? { ipv6: p.ipv6 } : {}),
        ...(p.route
          ? {
              route: {
                via: p.route.via,
                table: p.route.table,
                mark: p.route.mark,
                masquerade: p.route.masquerade,
                link: linkState(input.links, p.route.via),
                ...gatewaysStatus(p.route, input.routes ?? []),
                ...(p.route.allocated ? { allocated: true as const } : {}),
              },
            }
          : {}),
        ...(p.network ? { network: p.network } : {}),
        ...(p.proxy ? { proxy: { ...p.proxy } } : {}),
      },
      rules,
      totals: rules.reduce((t, r) => ({ packets: t.packets + r.packets, bytes: t.bytes + r.bytes }), {
        packets: 0,
        bytes: 0,
      }),
      drift: drift.get(p.name) ?? [],
    };
  });
  return {
    version: STATUS_JSON_VERSION,
    time: input.time,
    netns: input.netns ?? null,
    table: { family: 'inet', name: config.table, exists: table !== undefined },
    inSync: plan.nft.length + plan.rtnl.length === 0,
    profiles,
    shared: {
      rules: countersOf(table, (chain) => profileOfChain(chain, config.profiles) === undefined),
      drift: drift.get(undefined) ?? [],
    },
    servers: input.servers ?? [],
  };
}

/** A rule's identity across samples: its chain and handle (or position when there is no handle). */
export function ruleRateKey(r: RuleCounter, index: number): string {
  return `${r.chain}#${r.handle ?? `@${index}`}`;
}

function allRules(s: StatusSnapshot): RuleCounter[][] {
  return [...s.profiles.map((p) => p.rules), s.shared.rules];
}

/**
 * Packets/s and bytes/s between two samples. A counter that went down (the rule was
 * re-created by an apply) restarts from zero: its rate is its new value over the interval.
 */
export function computeRates(prev: StatusSnapshot, cur: StatusSnapshot): Rates {
  const seconds = Math.max((cur.time - prev.time) / 1000, 1e-3);
  const before = new Map<string, RuleCounter>();
  for (const list of allRules(prev)) for (const [i, r] of list.entries()) before.set(ruleRateKey(r, i), r);
  const delta = (now: number, then: number | undefined) =>
    (then === undefined || now < then ? now : now - then) / seconds;
  const rules = new Map<string, { packets: number; bytes: number }>();
  for (const list of allRules(cur)) {
    list.forEach((r, i) => {
      const key = ruleRateKey(r, i);
      const old = before.get(key);
      rules.set(key, { packets: delta(r.packets, old?.packets), bytes: delta(r.bytes, old?.bytes) });
    });
  }
  const profiles = new Map<string, { packets: number; bytes: number }>();
  for (const p of cur.profiles) {
    const sum = { packets: 0, bytes: 0 };
    p.rules.forEach((r, i) => {
      const rate = rules.get(ruleRateKey(r, i))!;
      sum.packets += rate.packets;
      sum.bytes += rate.bytes;
    });
    profiles.set(p.name, sum);
  }
  return { seconds, rules, profiles };
}
