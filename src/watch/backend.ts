// The daemon's backend: the netlink backend, except that routes through an
// interface that is missing or down are deferred instead of failing the apply.
//
// Why: `netcg apply` refuses a config whose `via` interface is absent (ENODEV) or
// down (the kernel's ENETDOWN), and rightly so for a one-shot command. A daemon
// that did the same would leave netcg's table unrepaired for as long as a VPN is
// down — a firewall reload then would take the DNS redirect and the IPv6 reject
// away: a leak. Deferring only those routes keeps everything else in force; the
// ip rule and the fail-closed route (no device) stay, so members' routed traffic
// still fails closed, and the link event of the interface coming back triggers
// the apply that adds the routes.
import { NetlinkBackend } from '../backends/netlink.js';
import type { LinkInfo, RtnlOp } from '../backends/types.js';
import type { Change } from '../plan/plan.js';
import type { RouteSpec } from '../shared/model.js';

export class DeferringBackend extends NetlinkBackend {
  /** Interfaces whose routes are deferred for the next apply; set by the daemon before each apply. */
  private absent: ReadonlySet<string> = new Set();

  /** Of `devices`, those missing or down now; their routes are deferred until they are up. */
  deferRoutesVia(devices: Iterable<string>): string[] {
    const up = new Map(super.links().map((l) => [l.name, l.up]));
    const absent = [...devices].filter((d) => up.get(d) !== true).sort();
    this.absent = new Set(absent);
    return absent;
  }

  /** Missing interfaces are listed as placeholders (down, no index) so apply's interface check lets the rest through. */
  override links(): LinkInfo[] {
    const real = super.links();
    const names = new Set(real.map((l) => l.name));
    return [
      ...real,
      ...[...this.absent].filter((d) => !names.has(d)).map((name) => ({ index: -1, name, up: false })),
    ];
  }

  override rtnl(op: RtnlOp): void {
    if (op.kind === 'route' && this.absent.has(op.route.dev)) {
      if (op.verb === 'add') return;
      // A route through a missing interface cannot exist: the kernel removed it with the link.
      if (!super.links().some((l) => l.name === op.route.dev)) return;
    }
    super.rtnl(op);
  }

  /** A change that only adds a route through an absent interface: in the plan, but not done. */
  isDeferred(change: Change): boolean {
    return (
      change.kind === 'route' &&
      change.action === '+' &&
      this.absent.has((change.after as RouteSpec | undefined)?.dev ?? '')
    );
  }
}
