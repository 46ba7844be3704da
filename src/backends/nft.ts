// The nft backend: the same effects through the distribution's own tools, `nft -f`
// and `ip -batch`. It is the tests' oracle (the netlink backend must produce the
// same `nft list` / `ip rule` / `ip route` text) and a fallback where the addon
// cannot be built. A target namespace is entered with nsenter, which unlike
// `ip netns exec` leaves /sys (and so the cgroup mounts) alone.
import { execFileSync } from 'node:child_process';

import { NetcgError } from '../shared/errors.js';
import {
  NETCG_RTPROT,
  type DefaultGateway,
  type HostFacts,
  type IpRuleSpec,
  type RouteSpec,
  type TableState,
} from '../shared/model.js';
import { renderIpBatches, renderNftTableScript } from '../render/index.js';
import type { Backend, HostFactsQuery, LinkInfo, OwnedState, RtnlOp } from './types.js';

interface IpJsonRoute {
  dst: string;
  dev?: string;
  protocol?: string | number;
  scope?: string;
  type?: string;
  table?: string | number;
  gateway?: string;
  flags?: string[];
}
interface IpJsonRule {
  priority: number;
  fwmark?: string;
  table?: string;
  protocol?: string | number;
  src?: string;
}

// iproute2 prints well-known numbers by name; map back to numbers.
const TABLE_NAMES: Record<string, number> = { main: 254, local: 255, default: 253 };
const PROTO_NAMES: Record<string, number> = { kernel: 2, boot: 3, static: 4, redirect: 1, ra: 9, dhcp: 16 };

function tableNumber(t: string | number | undefined): number {
  if (t === undefined) return 254;
  return typeof t === 'number' ? t : (TABLE_NAMES[t] ?? Number(t));
}

function protoNumber(p: string | number | undefined): number {
  if (p === undefined) return 3;
  return typeof p === 'number' ? p : (PROTO_NAMES[p] ?? Number(p));
}

function cidr(dst: string, family: 4 | 6): string {
  if (dst === 'default') return family === 4 ? '0.0.0.0/0' : '::/0';
  return dst.includes('/') ? dst : `${dst}/${family === 4 ? 32 : 128}`;
}

export class NftBackend implements Backend {
  readonly name = 'nft' as const;

  constructor(readonly netns?: string) {}

  private run(cmd: string, args: string[], input?: string): string {
    const [file, argv] = this.netns ? ['nsenter', [`--net=${this.netns}`, cmd, ...args]] : [cmd, args];
    try {
      return execFileSync(file, argv, {
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
        maxBuffer: 1 << 30,
      });
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
      throw new NetcgError('EEXEC', `${cmd} ${args.join(' ')} failed: ${stderr || (err as Error).message}`, {
        cause: err,
      });
    }
  }

  private ipJson<T>(...args: string[]): T[] {
    const out = this.run('ip', ['-j', ...args]).trim();
    return out ? (JSON.parse(out) as T[]) : [];
  }

  links(): LinkInfo[] {
    return this.ipJson<{ ifindex: number; ifname: string; flags: string[] }>('link', 'show').map((l) => ({
      index: l.ifindex,
      name: l.ifname,
      up: l.flags.includes('UP'),
    }));
  }

  hostFacts(query: HostFactsQuery = {}): HostFacts {
    const linkRoutes: HostFacts['linkRoutes'] = [];
    for (const family of query.linkRoutes === false ? [] : ([4, 6] as const)) {
      for (const r of this.ipJson<IpJsonRoute>(
        `-${family}`,
        'route',
        'show',
        'table',
        'main',
        'proto',
        'kernel',
      )) {
        if (r.gateway || !r.dev || (r.type && r.type !== 'unicast')) continue;
        if (family === 4 && r.scope !== 'link') continue;
        if (family === 6 && (r.dst.startsWith('fe80:') || r.dst.startsWith('ff'))) continue;
        linkRoutes.push({ family, dst: cidr(r.dst, family), dev: r.dev });
      }
    }
    const devices = query.gatewayDevices ?? [];
    return devices.length > 0
      ? { linkRoutes, defaultGateways: this.defaultGateways(devices) }
      : { linkRoutes };
  }

  /** The main table's default routes through a gateway on `devices` (`ip route show` lists the lowest metric first). */
  private defaultGateways(devices: readonly string[]): DefaultGateway[] {
    const out: DefaultGateway[] = [];
    for (const dev of devices)
      for (const family of [4, 6] as const) {
        const routes = this.ipJson<IpJsonRoute & { metric?: number }>(
          `-${family}`,
          'route',
          'show',
          'table',
          'main',
          'default',
          'dev',
          dev,
        ).filter((r) => r.gateway && (!r.type || r.type === 'unicast'));
        routes.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
        if (routes[0]) out.push({ family, dev, gateway: routes[0].gateway! });
      }
    return out;
  }

  readOwned(table: string): OwnedState {
    const ipRules: IpRuleSpec[] = [];
    const routes: RouteSpec[] = [];
    for (const family of [4, 6] as const) {
      for (const r of this.ipJson<IpJsonRule>(`-${family}`, 'rule', 'show')) {
        if (protoNumber(r.protocol) !== NETCG_RTPROT || r.fwmark === undefined) continue;
        const [mark, mask] = r.fwmark.split('/');
        ipRules.push({
          family,
          priority: r.priority,
          table: tableNumber(r.table),
          fwmark: Number(mark),
          protocol: NETCG_RTPROT,
          fwmask: mask === undefined ? 0xffffffff : Number(mask),
        });
      }
      for (const r of this.ipJson<IpJsonRoute>(
        `-${family}`,
        'route',
        'show',
        'table',
        'all',
        'proto',
        String(NETCG_RTPROT),
      )) {
        routes.push({
          family,
          table: tableNumber(r.table),
          dst: cidr(r.dst, family),
          // A fail-closed route has no device (IPv6 lists lo, which netcg never asked for).
          dev: r.type && r.type !== 'unicast' ? '' : (r.dev ?? ''),
          ...(r.gateway && (!r.type || r.type === 'unicast') ? { gateway: r.gateway } : {}),
          scope: r.scope === 'link' ? 'link' : 'universe',
          protocol: NETCG_RTPROT,
          type: (r.type as RouteSpec['type'] | undefined) ?? 'unicast',
        });
      }
    }
    return { tableExists: this.tableExists(table), ipRules, routes };
  }

  private tableExists(name: string): boolean {
    return this.run('nft', ['list', 'tables', 'inet'])
      .split('\n')
      .some((l) => l.trim() === `table inet ${name}`);
  }

  replaceTable(table: TableState): void {
    this.run('nft', ['-f', '-'], renderNftTableScript(table));
  }

  deleteTable(name: string): boolean {
    if (!this.tableExists(name)) return false;
    this.run('nft', ['delete', 'table', 'inet', name]);
    return true;
  }

  rtnl(op: RtnlOp): void {
    // iproute2 takes the family only on its command line, so each family is its own batch.
    for (const { args, input } of renderIpBatches([op])) this.run('ip', args, input);
  }

  close(): void {}
}
