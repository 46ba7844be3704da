// Desired states for the plan tests, built by the real compile from configs.
import { compile } from '../../src/compile/index.js';
import type { Config, ProfileConfig } from '../../src/config/index.js';
import type { DesiredState, HostFacts } from '../../src/shared/model.js';
import { plan } from '../../src/plan/plan.js';
import { SimKernel } from './plan-sim.js';

export const FACTS: HostFacts = {
  linkRoutes: [
    { family: 4, dst: '198.18.0.0/24', dev: 'lan0' },
    { family: 6, dst: '2001:db8:1::/64', dev: 'lan0' },
  ],
};

export function config(profiles: ProfileConfig[], table = 'netcg'): Config {
  return {
    file: 'test.yaml',
    table,
    cgroupParent: 'netcg',
    ipRulePriority: 10000,
    profiles: Object.fromEntries(profiles.map((p) => [p.name, p])),
  };
}

export function desired(profiles: ProfileConfig[], table = 'netcg'): DesiredState {
  return compile(config(profiles, table), FACTS);
}

/** A profile using every feature, routed through tun0 (mark/table 43) like the seed's vpn profile. */
export function fullProfile(i: number, over: Partial<ProfileConfig> = {}): ProfileConfig {
  return {
    name: `p${i}`,
    classid: 0x10000 + i,
    dns: { redirect: 5354 },
    ipv6: 'reject',
    route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: true, masquerade: true },
    ...over,
  };
}

export const seedProfiles: ProfileConfig[] = [
  { name: 'unlocator', classid: 42, dns: { redirect: 5354 }, ipv6: 'reject' },
  {
    name: 'vpn',
    classid: 43,
    route: { via: 'tun0', mark: 43, table: 43, copyLinkRoutes: true, masquerade: true },
  },
];

/** The kernel after a successful apply of `d` onto an empty namespace (handles assigned). */
export function installed(d: DesiredState): SimKernel {
  const k = new SimKernel();
  applyPlan(k, plan(k.current(), d));
  return k;
}

export function applyPlan(k: SimKernel, p: ReturnType<typeof plan>): void {
  for (const op of p.rtnl) {
    k.rtnl(op);
    if (!k.rulesHaveRoutes())
      throw new Error(`after ${op.verb} ${op.kind}: an ip rule points at a table without routes`);
  }
  k.nft(p.nft);
}
