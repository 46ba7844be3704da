// What apply and diff ask the backend to read of the host (src/apply/apply.ts,
// hostFactsQuery): the main table's link routes only when a profile copies them,
// since reading them walks the host's whole main table (docs/benchmarks.md).
import { describe, expect, it } from 'vitest';

import { hostFactsQuery } from '../../src/apply/apply.js';
import { parseConfig } from '../../src/config/index.js';

const configOf = (profiles: Record<string, unknown>) =>
  parseConfig(JSON.stringify({ profiles }), 'host-facts-query.json');

describe('hostFactsQuery', () => {
  it('asks for link routes when a routed profile copies them (the default)', () => {
    const q = hostFactsQuery(configOf({ vpn: { classid: 43, route: { via: 'tun0' } } }));
    expect(q.linkRoutes).toBe(true);
  });

  it('does not when no profile copies them, or none routes', () => {
    const noCopy = configOf({ vpn: { classid: 43, route: { via: 'tun0', copyLinkRoutes: false } } });
    expect(hostFactsQuery(noCopy).linkRoutes).toBe(false);
    expect(hostFactsQuery(configOf({ dns: { classid: 42, dns: { redirect: 5354 } } })).linkRoutes).toBe(
      false,
    );
  });

  it('one copying profile among others is enough', () => {
    const mixed = configOf({
      a: { classid: 43, route: { via: 'tun0', copyLinkRoutes: false } },
      b: { classid: 44, route: { via: 'tun1' } },
    });
    expect(hostFactsQuery(mixed).linkRoutes).toBe(true);
  });
});

describe('hostFactsQuery with gateways', () => {
  it('a fixed gateway needs the link routes (is it on-link?) even without copyLinkRoutes; auto asks for its via', () => {
    const fixed = configOf({
      lan: { classid: 50, route: { via: 'eth0', gateway: '198.18.10.1', copyLinkRoutes: false } },
    });
    expect(hostFactsQuery(fixed)).toEqual({ linkRoutes: true, gatewayDevices: [] });
    const auto = configOf({
      lan: { classid: 50, route: { via: 'eth0', gateway: 'auto', copyLinkRoutes: false } },
    });
    expect(hostFactsQuery(auto)).toEqual({ linkRoutes: false, gatewayDevices: ['eth0'] });
  });
});
