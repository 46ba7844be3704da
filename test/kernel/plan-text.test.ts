// The plan's text against the tools it imitates: every object netcg installs, as
// `netcg diff` would print it for an empty namespace, is checked against what
// `nft list`, `ip rule` and `ip route show table N` print for the same object once it
// is installed. The unit golden files (test/unit/__golden__) pin the wording; this
// pins that the wording is the tools' own. In a throwaway namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NetlinkBackend } from '../../src/backends/netlink.js';
import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { openHandle, type NetlinkHandle } from '../../src/native/index.js';
import { plan, splitRtnl, type Change } from '../../src/plan/plan.js';
import { changeText } from '../../src/plan/text.js';
import type { RouteView } from '../../src/plan/views.js';
import type { DesiredState } from '../../src/shared/model.js';
import { createNetns, uniqueName, type Netns } from '../helpers/netns.js';

const TABLE = uniqueName('ptxt');

const YAML = `table: ${TABLE}
profiles:
  unlocator: { classid: 42, dns: { redirect: 5354 }, ipv6: reject }
  vpn: { classid: 43, route: { via: tun0, table: 43, mark: 43 } }
  lan: { classid: 46, route: { via: lan0, table: 46, mark: 46, gateway: 198.18.0.254, gateway6: "2001:db8:1::fe" } }
  web: { match: cgroupv2, dns: { redirect: 5355 } }
  offline: { classid: 44, network: offline }
  tor: { classid: 45, proxy: { tcp: 9040, udp: reject } }
`;

/** A tool's output as trimmed, non-empty lines, counters without their values. */
const linesOf = (text: string) =>
  text
    .replace(/counter packets \d+ bytes \d+/g, 'counter')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** The lines of `nft list table` inside `<kind> <name> {` … `}`. */
function block(nft: string[], head: string): string[] {
  const start = nft.indexOf(`${head} {`);
  expect(start, `${head} in nft list`).toBeGreaterThanOrEqual(0);
  return nft.slice(start + 1, nft.indexOf('}', start));
}

describe('netcg diff text = what nft list / ip rule / ip route print', () => {
  let ns: Netns;
  let h: NetlinkHandle;
  let backend: NetlinkBackend;
  let want: DesiredState;
  let changes: Change[];

  beforeAll(() => {
    ns = createNetns('ptxt');
    for (const dev of ['tun0', 'lan0']) {
      ns.ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
      ns.ip('link', 'set', dev, 'up');
      ns.ip('link', 'set', `${dev}p`, 'up');
    }
    ns.ip('addr', 'add', '198.18.0.1/24', 'dev', 'lan0');
    ns.ip('-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'lan0', 'nodad');
    h = openHandle(ns.path);
    backend = new NetlinkBackend(ns.path);
    const config = parseConfig(YAML, 'plan-text.yaml');
    want = compile(config, { ...backend.hostFacts(), cgroups: { netCls: true, ids: { web: 4242n } } });
    const p = plan({ ipRules: [], routes: [] }, want);
    const { before, after } = splitRtnl(p.rtnl);
    for (const op of before) backend.rtnl(op);
    h.nftCommit(p.nft);
    for (const op of after) backend.rtnl(op);
    changes = p.changes;
  });

  afterAll(() => {
    try {
      h?.close();
      backend?.close();
    } finally {
      ns?.remove();
    }
  });

  it('covers every kind the plan has', () => {
    expect(new Set(changes.map((c) => c.kind))).toEqual(
      new Set(['table', 'map', 'chain', 'element', 'rule', 'ip rule', 'route']),
    );
    expect(changes.some((c) => c.kind === 'route' && (c.after as RouteView).gateway)).toBe(true);
  });

  it('maps, chains, elements and rules read as nft list prints them', () => {
    const nft = linesOf(ns.nft('list', 'table', 'inet', TABLE));
    expect(nft[0]).toBe(`table inet ${TABLE} {`);
    for (const c of changes) {
      const line = changeText(c);
      const m = /^\+ (map|chain|element|rule) (\S+)(?: \{ (.*) \}|: (.*))?$/.exec(line);
      if (c.kind === 'table') expect(line).toBe(`+ table inet ${TABLE}`);
      if (!m) continue;
      const [, kind, name, braces, text] = m;
      if (kind === 'map') expect(block(nft, `map ${name}`)[0], line).toBe(braces);
      if (kind === 'chain') {
        const inside = block(nft, `chain ${name}`);
        if (braces) expect(inside[0], line).toBe(braces);
        else
          expect(
            inside.some((l) => l.startsWith('type ')),
            line,
          ).toBe(false);
      }
      if (kind === 'element')
        expect(block(nft, `map ${name}`).join(' '), line).toMatch(
          new RegExp(`elements = \\{ (.*, )?${braces!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(,| \\})`),
        );
      if (kind === 'rule') expect(block(nft, `chain ${name}`), line).toContain(text);
    }
  });

  it('ip rules read as ip rule prints them', () => {
    const rules = { 4: linesOf(ns.ip('-4', 'rule', 'show')), 6: linesOf(ns.ip('-6', 'rule', 'show')) };
    for (const c of changes.filter((x) => x.kind === 'ip rule')) {
      const m = /^\+ ip (-6 )?rule (\d+): (.*)$/.exec(changeText(c))!;
      expect(rules[m[1] ? 6 : 4], changeText(c)).toContain(`${m[2]}:\t${m[3]}`);
    }
  });

  it('routes read as ip route show table N prints them (less the IPv6 defaults the kernel adds)', () => {
    for (const c of changes.filter((x) => x.kind === 'route')) {
      const r = c.after as RouteView;
      // IPv6 routes get `metric 1024 pref medium` (and reject routes `dev lo`) from the kernel.
      const shown = linesOf(ns.ip(`-${r.family}`, 'route', 'show', 'table', String(r.table))).map((l) =>
        l
          .replace(/ dev lo(?= )/, '')
          .replace(/ metric 1024(?= |$)/, '')
          .replace(/ pref medium$/, ''),
      );
      const m = /^\+ route (\S+) table (\d+): (.*)$/.exec(changeText(c))!;
      expect(m[1], changeText(c)).toBe(r.dst);
      expect(shown, changeText(c)).toContain(m[3]);
    }
  });
});
