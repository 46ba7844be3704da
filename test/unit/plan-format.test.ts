import { describe, expect, it } from 'vitest';

import { DIFF_JSON_VERSION, formatPlan, planToJson } from '../../src/plan/format.js';
import { plan } from '../../src/plan/plan.js';
import { desired, installed, seedProfiles } from './plan-fixtures.js';

const ESC = String.fromCharCode(27);

describe('formatPlan', () => {
  it('prints "No changes." for an empty plan', () => {
    const d = desired(seedProfiles);
    expect(formatPlan(plan(installed(d).current(), d), { color: false })).toBe('No changes.\n');
  });

  it('prints one line per object and the terraform-style summary', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const next = desired([
      { ...seedProfiles[0]!, dns: { redirect: 5399 } },
      { ...seedProfiles[1]!, classid: 44 },
    ]);
    const text = formatPlan(plan(k.current(), next), { color: false });
    const handles = k.table!.chains.find((c) => c.name === 'dns_unlocator')!.rules.map((r) => r.handle);
    const guards = k.table!.chains.find((c) => c.name === 'filter_dnsreply')!.rules.map((r) => r.handle);
    const guard = (proto: string, port: number) =>
      `${proto} sport ${port}${proto === 'tcp' ? ' tcp flags syn' : ''} ct direction reply ct status dnat meta skuid != 0 counter drop`;
    expect(text).toBe(
      [
        `  - rule filter_dnsreply: ${guard('udp', 5354)} # handle ${guards[0]}`,
        `  - rule filter_dnsreply: ${guard('tcp', 5354)} # handle ${guards[1]}`,
        `  - rule dns_unlocator: udp dport 53 counter redirect to :5354 # handle ${handles[0]}`,
        `  - rule dns_unlocator: tcp dport 53 counter redirect to :5354 # handle ${handles[1]}`,
        `  + rule filter_dnsreply: ${guard('udp', 5399)}`,
        `  + rule filter_dnsreply: ${guard('tcp', 5399)}`,
        '  + rule dns_unlocator: udp dport 53 counter redirect to :5399',
        '  + rule dns_unlocator: tcp dport 53 counter redirect to :5399',
        '  - element route_dispatch { 43 : jump route_vpn }',
        '  + element route_dispatch { 44 : jump route_vpn }',
        '',
        'Plan: 5 to add, 0 to change, 5 to destroy.',
        '',
      ].join('\n'),
    );
    expect(text).not.toContain(ESC);
  });

  it('colours + green, - red, ~ yellow when asked', () => {
    const d = desired(seedProfiles);
    const text = formatPlan(plan({ ipRules: [], routes: [] }, d), { color: true });
    expect(text).toContain(`${ESC}[32m+ table inet netcg${ESC}[39m`);
    expect(text).toContain(`${ESC}[32m+ ip rule 10000: from all fwmark 0x2b lookup 43 proto 110${ESC}[39m`);
    expect(text).toContain(`${ESC}[32m+ route ::/0 table 43: default dev tun0 proto 110${ESC}[39m`);
    expect(text).toContain('Plan: 35 to add, 0 to change, 0 to destroy.');
  });
});

describe('planToJson', () => {
  it('has the documented shape, survives JSON, and carries no Buffers', () => {
    const d = desired(seedProfiles);
    const k = installed(d);
    const cur = k.current();
    cur.routes = cur.routes.map((r) => (r.dst === '198.18.0.0/24' ? { ...r, dev: 'eth9' } : r));
    const json = planToJson(plan(cur, d));
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json).toEqual({
      version: DIFF_JSON_VERSION,
      changed: true,
      summary: { add: 0, change: 1, destroy: 0 },
      operations: { nft: 0, rtnl: 2 },
      changes: [
        {
          action: '~',
          kind: 'route',
          id: 'ipv4 198.18.0.0/24 table 43',
          before: {
            family: 4,
            table: 43,
            dst: '198.18.0.0/24',
            dev: 'eth9',
            scope: 'link',
            protocol: 110,
            type: 'unicast',
          },
          after: {
            family: 4,
            table: 43,
            dst: '198.18.0.0/24',
            dev: 'lan0',
            scope: 'link',
            protocol: 110,
            type: 'unicast',
          },
        },
      ],
    });
  });

  it('describes every kind of object in plain JSON values', () => {
    const json = planToJson(plan({ ipRules: [], routes: [] }, desired(seedProfiles)));
    expect(json.version).toBe(1);
    const byKind = (k: string) => json.changes.find((c) => c.kind === k)!.after;
    expect(byKind('table')).toEqual({ family: 'inet', name: 'netcg' });
    expect(byKind('map')).toEqual({
      name: 'dns_dispatch',
      text: 'typeof meta cgroup : verdict',
      flags: 8,
      keyType: 4,
      keyLen: 4,
      dataType: 0xffffff00,
      dataLen: 16,
    });
    expect(byKind('chain')).toEqual({
      name: 'nat_output',
      hook: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
    });
    expect(byKind('element')).toEqual({ map: 'dns_dispatch', key: '42', value: 'jump dns_unlocator' });
    expect(byKind('rule')).toEqual({
      chain: 'nat_output',
      text: 'counter meta cgroup vmap @dns_dispatch',
      position: 0,
    });
    expect(byKind('ip rule')).toEqual({
      family: 4,
      priority: 10000,
      fwmark: 43,
      fwmask: 0xffffffff,
      table: 43,
      protocol: 110,
    });
    expect(JSON.stringify(json)).not.toContain('"type":"Buffer"');
  });
});
