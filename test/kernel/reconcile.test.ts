// netcg as a reconciler (issue 3): apply executes exactly the plan; a second apply
// sends nothing; out-of-band edits are seen and repaired; a failed apply leaves
// the kernel as it was; a concurrent nf_tables change forces a re-plan; two applies
// at once are serialized; foreign objects are never touched.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { apply, diff } from '../../src/apply/apply.js';
import { NetlinkBackend } from '../../src/backends/netlink.js';
import type { Backend } from '../../src/backends/types.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { NETCG_CLI, runCli } from '../helpers/cli.js';
import { seedText, tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
let cfg: TempConfig;
let foreignListing: string;
const FOREIGN =
  'table inet fw {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    ip daddr 198.51.100.7 counter\n  }\n}\n';

/**
 * The ruleset with its top-level blocks (tables, and the maps and chains inside them)
 * sorted: nft lists objects in handle order, and a restored chain gets a new handle,
 * so "the same state" means the same blocks, not the same creation order.
 */
function canonicalRuleset(text: string): string {
  return text
    .split(/\n(?=table )/)
    .map((table) => {
      const [head, ...blocks] = table.split(/\n(?=\t(?:chain|map|set) )/);
      return [head, ...blocks.map((b) => b.trimEnd()).sort()].join('\n');
    })
    .sort()
    .join('\n');
}

function snapshot() {
  return [
    canonicalRuleset(ns.nft('-s', 'list', 'ruleset')),
    ns.ip('-4', 'rule', 'show'),
    ns.ip('-6', 'rule', 'show'),
    ns.ip('-4', 'route', 'show', 'table', 'all'),
    ns.ip('-6', 'route', 'show', 'table', 'all'),
  ].join('\n--\n');
}

function withBackend<T>(fn: (b: NetlinkBackend) => T): T {
  const b = new NetlinkBackend(ns.path);
  try {
    return fn(b);
  } finally {
    b.close();
  }
}

/** The seed plus one more profile, to have something to add. */
function grownConfig() {
  const base = loadConfig(cfg.file);
  return parseConfig(
    `table: ${base.table}\ncgroupParent: ${base.cgroupParent}\n${seedText()
      .replace(/^(table|cgroupParent):.*\n/gm, '')
      .replace(/^profiles:\n/m, 'profiles:\n  extra:\n    classid: 77\n    dns: { redirect: 5399 }\n')}`,
    'grown.yaml',
  );
}

beforeAll(() => {
  ns = createNetns('ncrc');
  // No IPv6 duplicate address detection: a link-local address finishing DAD during the
  // "second apply sends nothing" window adds a local route, an event netcg did not cause.
  ns.sysctl({ 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' });
  ns.ip('link', 'add', 'tun0', 'type', 'veth', 'peer', 'name', 'tun0p');
  ns.ip('link', 'set', 'tun0', 'up');
  ns.ip('link', 'set', 'tun0p', 'up');
  ns.ip('addr', 'add', '198.18.9.1/24', 'dev', 'tun0p');
  // Foreign state that every netcg operation must leave alone, including a look-alike rule (same mark, other protocol).
  ns.run('nft', ['-f', '-'], FOREIGN);
  foreignListing = ns.nft('-s', 'list', 'table', 'inet', 'fw');
  ns.ip('rule', 'add', 'priority', '10001', 'fwmark', '0x2b', 'lookup', '43');
  ns.ip('route', 'add', '198.51.100.0/24', 'dev', 'tun0p', 'table', '43');
  cfg = tempConfig(seedText(), 'ncrc');
});

afterAll(() => {
  ns?.remove();
  cfg?.remove();
});

afterEach(() => {
  // every test ends converged on the seed, so the next starts from a known state
  withBackend((b) => apply(loadConfig(cfg.file), b));
});

describe('reconciling', () => {
  it('a fresh apply installs the plan; the second apply sends nothing (no nft or rtnetlink event, genid unchanged)', async () => {
    const config = loadConfig(cfg.file);
    withBackend((b) => apply(config, b));
    const genid = withBackend((b) => b.readState(config.table).genid);
    // Watch the kernel's own event streams while the second apply runs.
    const nftMon = spawn('nsenter', [`--net=${ns.path}`, 'nft', 'monitor']);
    const ipMon = spawn('nsenter', [`--net=${ns.path}`, 'ip', 'monitor', 'rule', 'route', 'link']);
    let events = '';
    for (const m of [nftMon, ipMon]) m.stdout.on('data', (d: Buffer) => (events += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const report = withBackend((b) => apply(config, b));
    await new Promise((r) => setTimeout(r, 300));
    nftMon.kill();
    ipMon.kill();
    expect(report.changed).toBe(false);
    expect(report.plan.nft).toEqual([]);
    expect(report.plan.rtnl).toEqual([]);
    expect(events).toBe('');
    expect(withBackend((b) => b.readState(config.table).genid)).toBe(genid);
    // and the CLI says so
    const r = runCli(['apply', '-c', cfg.file, '--netns', ns.path]);
    expect(r.stdout).toMatch(/^no changes: the kernel already matches/);
  });

  it('out-of-band edits show in `netcg diff` (exit 2) and the next apply repairs them (diff exit 0)', () => {
    const table = loadConfig(cfg.file).table;
    const handle = /tcp dport 53 .* # handle (\d+)/.exec(
      ns.nft('-a', 'list', 'chain', 'inet', table, 'dns_unlocator'),
    )![1]!;
    ns.nft('delete', 'rule', 'inet', table, 'dns_unlocator', 'handle', handle);
    ns.nft('add', 'rule', 'inet', table, 'route_vpn', 'counter', 'accept');
    ns.ip('route', 'del', 'default', 'dev', 'tun0', 'table', '43', 'proto', '110');
    const d = runCli(['diff', '-c', cfg.file, '--netns', ns.path, '--json']);
    expect(d.code).toBe(2);
    const json = JSON.parse(d.stdout);
    expect(json.summary).toEqual({ add: 2, change: 0, destroy: 1 });
    expect(json.changes.map((c: { action: string; kind: string }) => `${c.action}${c.kind}`).sort()).toEqual([
      '+route',
      '+rule',
      '-rule',
    ]);
    expect(runCli(['apply', '-c', cfg.file, '--netns', ns.path]).code).toBe(0);
    expect(runCli(['diff', '-c', cfg.file, '--netns', ns.path]).code).toBe(0);
    expect(ns.nft('list', 'table', 'inet', table)).toMatch(
      /tcp dport 53 counter packets \d+ bytes \d+ redirect to :5354/,
    );
  });

  it('adding one profile is a handful of operations, not a rebuild', () => {
    const report = withBackend((b) => apply(grownConfig(), b));
    expect(report.plan.nft.length).toBeLessThanOrEqual(10);
    // chain, element, 2 rules, and the new redirect port's 2 dns.server rules
    expect(report.summary).toEqual({ add: 6, change: 0, destroy: 0 });
  });

  it('a failure after the nf_tables batch (an ip rule removal refused) restores the previous state exactly', () => {
    withBackend((b) => apply(loadConfig(cfg.file), b)); // start from the seed: it has ip rules to remove
    const before = snapshot();
    // The grown config without the vpn profile: nft changes AND rtnl removals.
    const config = grownConfig();
    delete (config.profiles as Record<string, unknown>).vpn;
    const err = withBackend((b) => {
      const faulty: Backend = Object.assign(Object.create(Object.getPrototypeOf(b)), b, {
        rtnl(op: Parameters<Backend['rtnl']>[0]) {
          if (op.verb === 'del' && op.kind === 'rule')
            throw Object.assign(new Error('injected: EPERM'), { code: 'EPERM' });
          return b.rtnl(op);
        },
      });
      try {
        apply(config, faulty);
      } catch (e) {
        return e as { code?: string };
      }
      return undefined;
    });
    expect(err?.code).toBe('EPERM');
    expect(snapshot()).toBe(before);
  });

  it('an interface that disappears between plan and apply: the route add fails, nothing changes', () => {
    const before = snapshot();
    const config = grownConfig();
    (config.profiles as Record<string, { route?: { via: string } }>).extra!.route = {
      ...config.profiles.vpn!.route!,
      via: 'gone0',
      table: 88,
      mark: 88,
    } as never;
    ns.ip('link', 'add', 'gone0', 'type', 'veth', 'peer', 'name', 'gone0p');
    ns.ip('link', 'set', 'gone0', 'up');
    const err = withBackend((b) => {
      const racing: Backend = Object.assign(Object.create(Object.getPrototypeOf(b)), b, {
        readState(t: string) {
          const s = b.readState(t);
          ns.ip('link', 'del', 'gone0'); // vanishes after the plan was made
          return s;
        },
      });
      try {
        apply(config, racing);
      } catch (e) {
        return e as { code?: string };
      }
      return undefined;
    });
    expect(err?.code).toMatch(/ENODEV|EINVAL/);
    expect(snapshot()).toBe(before);
  });

  it('a concurrent nf_tables change between read and commit makes the kernel refuse the batch; apply re-plans and succeeds', () => {
    let first = true;
    const report = withBackend((b) => {
      const racing: Backend = Object.assign(Object.create(Object.getPrototypeOf(b)), b, {
        readState(t: string) {
          const s = b.readState(t);
          if (first) {
            first = false;
            ns.nft('add', 'table', 'inet', 'bumpgen'); // someone else commits: the generation moves
          }
          return s;
        },
      });
      return apply(grownConfig(), racing);
    });
    ns.nft('delete', 'table', 'inet', 'bumpgen');
    expect(report.attempts).toBe(2);
    expect(withBackend((b) => diff(grownConfig(), b).plan.changes)).toEqual([]);
  });

  it('two `netcg apply` at once are serialized and end consistent', async () => {
    const grown = tempConfig(
      seedText().replace(/^profiles:\n/m, 'profiles:\n  extra:\n    classid: 78\n    ipv6: reject\n'),
      'ncrc',
    );
    try {
      const run = (file: string) =>
        new Promise<number>((resolve) => {
          const p = spawn(process.execPath, [NETCG_CLI, 'apply', '-c', file, '--netns', ns.path, '--json'], {
            stdio: 'ignore',
          });
          p.on('exit', (code) => resolve(code ?? -1));
        });
      // the same config twice, at the same moment
      const codes = await Promise.all([run(cfg.file), run(cfg.file), run(cfg.file)]);
      expect(codes).toEqual([0, 0, 0]);
      expect(runCli(['diff', '-c', cfg.file, '--netns', ns.path]).code).toBe(0);
    } finally {
      grown.remove();
    }
  });

  it('foreign tables, ip rules and routes survived all of the above byte for byte', () => {
    expect(ns.nft('-s', 'list', 'table', 'inet', 'fw')).toBe(foreignListing);
    expect(ns.ip('rule', 'show')).toMatch(/^10001:\s+from all fwmark 0x2b lookup 43\s*$/m);
    expect(ns.ip('route', 'show', 'table', '43')).toMatch(/^198\.51\.100\.0\/24 dev tun0p scope link\s*$/m);
  });
});
