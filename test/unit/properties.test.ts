import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { compile } from '../../src/compile/index.js';
import { isCgroupFileName, parseConfig } from '../../src/config/index.js';
import type { HostFacts } from '../../src/shared/model.js';
import { readHostU32 } from '../../src/nft/index.js';
import { renderIpBatches, renderNftScript, type IpOp } from '../../src/render/index.js';

const FACTS: HostFacts = {
  linkRoutes: [
    { family: 4, dst: '198.18.0.0/24', dev: 'lan0' },
    { family: 6, dst: '2001:db8:1::/64', dev: 'lan0' },
  ],
};
const VIAS = ['tun0', 'wg0', 'vpn-office.1'] as const;

interface GenProfile {
  classid: number;
  hexClassid: boolean;
  dns?: number;
  ipv6: boolean;
  via?: (typeof VIAS)[number];
}

// Valid names only: the config refuses names of the files every cgroup has (tasks, io.max, ...).
const profileName = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/)
  .filter((n) => !isCgroupFileName(n));
// Classids the kernel's reserved tables (253-255) cannot be derived from.
const classid = fc.oneof(fc.integer({ min: 1, max: 252 }), fc.integer({ min: 256, max: 0xffffffff }));
const profile: fc.Arbitrary<GenProfile> = fc
  .record({
    classid,
    hexClassid: fc.boolean(),
    dns: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    ipv6: fc.boolean(),
    via: fc.option(fc.constantFrom(...VIAS), { nil: undefined }),
  })
  .filter((p) => p.dns !== undefined || p.ipv6 || p.via !== undefined);

const configs = fc.record({
  profiles: fc
    .uniqueArray(fc.tuple(profileName, profile), { minLength: 1, maxLength: 12, selector: ([name]) => name })
    .filter((ps) => new Set(ps.map(([, p]) => p.classid)).size === ps.length),
  // One setting per interface: profiles sharing a table must agree on it.
  copyLinkRoutes: fc.record({ tun0: fc.boolean(), wg0: fc.boolean(), 'vpn-office.1': fc.boolean() }),
  json: fc.boolean(),
});

function configText({
  profiles,
  copyLinkRoutes,
  json,
}: {
  profiles: Array<[string, GenProfile]>;
  copyLinkRoutes: Record<string, boolean>;
  json: boolean;
}): string {
  const doc = {
    table: 'prop_table',
    profiles: Object.fromEntries(
      profiles.map(([name, p]) => [
        name,
        {
          classid: p.hexClassid ? `0x${p.classid.toString(16)}` : p.classid,
          ...(p.dns !== undefined && { dns: { redirect: p.dns } }),
          ...(p.ipv6 && { ipv6: 'reject' }),
          ...(p.via && { route: { via: p.via, copyLinkRoutes: copyLinkRoutes[p.via] } }),
        },
      ]),
    ),
  };
  return json ? JSON.stringify(doc, null, 2) : stringify(doc);
}

describe('random valid configs', () => {
  it('load, compile and render without throwing, and classids and ports round-trip', () => {
    fc.assert(
      fc.property(configs, (gen) => {
        const config = parseConfig(configText(gen), 'prop.yaml');
        const state = compile(config, FACTS);
        const script = renderNftScript(state);
        const ops: IpOp[] = [
          ...state.routes.map((route): IpOp => ({ verb: 'add', kind: 'route', route })),
          ...state.ipRules.map((rule): IpOp => ({ verb: 'add', kind: 'rule', rule })),
        ];
        renderIpBatches(ops);

        expect(compile(config, FACTS)).toEqual(state);
        // Profiles keep the file's order, except that JavaScript objects put integer-like keys ("0", "42") first.
        expect(state.cgroups.map((c) => c.profile)).toEqual(Object.keys(config.profiles));
        expect(new Map(state.cgroups.map((c) => [c.profile, c.classid]))).toEqual(
          new Map(gen.profiles.map(([name, p]) => [name, p.classid])),
        );
        for (const [name, p] of gen.profiles) {
          for (const feature of ['dns', 'ipv6', 'route'] as const) {
            const used =
              feature === 'dns' ? p.dns !== undefined : feature === 'ipv6' ? p.ipv6 : p.via !== undefined;
            const map = state.table.maps.find((m) => m.name === `${feature}_dispatch`);
            const element = map?.elements.find(
              (e) => e.verdict && 'chain' in e.verdict && e.verdict.chain === `${feature}_${name}`,
            );
            expect(element === undefined ? undefined : readHostU32(element.key)).toBe(
              used ? p.classid : undefined,
            );
          }
          if (p.dns !== undefined) {
            expect(script).toContain(
              `add rule inet prop_table dns_${name} udp dport 53 counter redirect to :${p.dns}\n`,
            );
            expect(script).toContain(
              `add rule inet prop_table dns_${name} tcp dport 53 counter redirect to :${p.dns}\n`,
            );
          }
          if (p.via) {
            const shared = Math.min(
              ...gen.profiles.filter(([, q]) => q.via === p.via).map(([, q]) => q.classid),
            );
            expect(config.profiles[name]!.route).toMatchObject({ via: p.via, mark: shared, table: shared });
          }
        }
        // One ip rule per family per interface in use.
        expect(state.ipRules).toHaveLength(
          2 * new Set(gen.profiles.flatMap(([, p]) => (p.via ? [p.via] : []))).size,
        );
      }),
      { numRuns: 300 },
    );
  });
});
