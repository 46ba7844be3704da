// Issue 5, "Foreign rules": what others put in a namespace survives every netcg
// command byte-for-byte. The namespace holds a Docker-like `ip nat` + `ip filter`
// pair with DOCKER chains, a firewalld-like `inet firewalld` table with many chains
// and a set, user ip rules (one with netcg's fwmark, one at netcg's priority, both
// families) and routes (main table, a custom table, and one inside netcg's own
// routing table number). Every command is run through the CLI, as a user would.
//
// The namespace is quiet (test/helpers/quiet-netns.ts), so the foreign tables are
// compared with their counters, exactly as `nft list table` prints them. netcg's own
// lines (proto 110 rules and routes) are left out of the rule and route listings;
// everything else must be identical.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import type { Netns } from '../helpers/netns.js';
import { VIA, createQuietNetns } from '../helpers/quiet-netns.js';

const CLASSID = 43; // netcg derives mark 43 (0x2b) and routing table 43 from it
const FOREIGN_TABLES = ['ip nat', 'ip filter', 'inet firewalld'];

/** firewalld keeps a chain per zone and stage; 12 zones × 4 stages plus the base chains is a realistic size. */
function firewalldLike(): string {
  const zones = [
    'block',
    'dmz',
    'drop',
    'external',
    'home',
    'internal',
    'public',
    'trusted',
    'work',
    'nm-shared',
    'docker',
    'libvirt',
  ];
  const stages = ['pre', 'log', 'deny', 'allow'];
  const chains = zones.flatMap((z) => [
    `  chain filter_IN_${z} {\n    jump filter_IN_${z}_pre\n    jump filter_IN_${z}_log\n    jump filter_IN_${z}_deny\n    jump filter_IN_${z}_allow\n  }`,
    ...stages.map(
      (s) =>
        `  chain filter_IN_${z}_${s} {${s === 'allow' ? '\n    tcp dport 22 ct state new,untracked counter accept' : ''}\n  }`,
    ),
  ]);
  return `table inet firewalld {
  set blocked { type ipv4_addr; flags interval; elements = { 198.51.100.0/28, 198.18.99.0/24 }; }
  chain filter_INPUT {
    type filter hook input priority filter + 10; policy accept;
    ct state established,related counter accept
    iifname "lo" accept
    jump filter_INPUT_ZONES
  }
  chain filter_OUTPUT {
    type filter hook output priority filter + 10; policy accept;
    ip daddr @blocked counter reject
    oifname "lo" accept
  }
  chain filter_INPUT_ZONES {
    iifname "${VIA}" goto filter_IN_public
    goto filter_IN_public
  }
${chains.join('\n')}
}
`;
}

const DOCKER_LIKE = `table ip nat {
  chain DOCKER {
    iifname "docker0" counter return
  }
  chain PREROUTING {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump DOCKER
  }
  chain OUTPUT {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local counter jump DOCKER
  }
  chain POSTROUTING {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 198.18.200.0/24 oifname != "docker0" counter masquerade
  }
}
table ip filter {
  chain DOCKER {
  }
  chain DOCKER-ISOLATION-STAGE-1 {
    iifname "docker0" oifname != "docker0" counter jump DOCKER-ISOLATION-STAGE-2
    counter return
  }
  chain DOCKER-ISOLATION-STAGE-2 {
    oifname "docker0" counter drop
    counter return
  }
  chain DOCKER-USER {
    counter return
  }
  chain FORWARD {
    type filter hook forward priority filter; policy drop;
    counter jump DOCKER-USER
    counter jump DOCKER-ISOLATION-STAGE-1
    oifname "docker0" ct state related,established counter accept
    oifname "docker0" counter jump DOCKER
  }
}
`;

let ns: Netns;
let cfg: TempConfig;
let sleeper: ChildProcess | undefined;

/** The foreign part of the namespace, as text: each foreign table, and every ip rule and route that is not netcg's (proto 110). */
function foreignSnapshot(): string {
  const notNetcg = (text: string) =>
    text
      .split('\n')
      .filter((l) => !/\bproto 110\b/.test(l))
      .join('\n');
  return [
    ...FOREIGN_TABLES.map((t) => ns.nft('list', 'table', ...t.split(' '))),
    notNetcg(ns.ip('-4', 'rule', 'show')),
    notNetcg(ns.ip('-6', 'rule', 'show')),
    notNetcg(ns.ip('-4', 'route', 'show', 'table', 'all')),
    notNetcg(ns.ip('-6', 'route', 'show', 'table', 'all')),
  ].join('\n--\n');
}

function netcgLines(): string[] {
  return [
    ns.ip('-4', 'rule', 'show'),
    ns.ip('-6', 'rule', 'show'),
    ns.ip('-4', 'route', 'show', 'table', 'all'),
    ns.ip('-6', 'route', 'show', 'table', 'all'),
  ]
    .join('\n')
    .split('\n')
    .filter((l) => /\bproto 110\b/.test(l));
}

beforeAll(() => {
  ns = createQuietNetns('ncfo', (n) => {
    n.run('nft', ['-f', '-'], DOCKER_LIKE);
    n.run('nft', ['-f', '-'], firewalldLike());
    // User ip rules: netcg's own fwmark to another table, netcg's priority with another selector, others around it.
    n.ip('-4', 'rule', 'add', 'fwmark', `0x${CLASSID.toString(16)}`, 'lookup', '200', 'priority', '9000');
    n.ip('-4', 'rule', 'add', 'iif', 'lo', 'lookup', '203', 'priority', '10000');
    n.ip('-4', 'rule', 'add', 'from', '198.18.77.0/24', 'lookup', '201', 'priority', '20000');
    n.ip('-6', 'rule', 'add', 'to', '2001:db8:99::/48', 'lookup', '202', 'priority', '15000');
    n.ip('-6', 'rule', 'add', 'fwmark', `0x${CLASSID.toString(16)}`, 'lookup', '200', 'priority', '10001');
    // Routes: main table, a custom table, and netcg's own table number.
    n.ip('-4', 'route', 'add', '198.51.100.0/24', 'via', '198.18.77.2', 'dev', VIA);
    n.ip('-4', 'route', 'add', 'default', 'via', '198.18.77.3', 'dev', VIA, 'table', '201');
    n.ip('-4', 'route', 'add', '198.51.100.77', 'dev', VIA, 'table', String(CLASSID));
    n.ip(
      '-6',
      'route',
      'add',
      '2001:db8:99::/48',
      'via',
      '2001:db8:77::2',
      'dev',
      VIA,
      'table',
      String(CLASSID),
    );
  });
  cfg = tempConfig(
    `profiles:\n  unlocator:\n    classid: 42\n    dns: { redirect: 5354 }\n    ipv6: reject\n  vpn:\n    classid: ${CLASSID}\n    route: { via: ${VIA}, copyLinkRoutes: true, masquerade: true }\n`,
    'ncfo',
  );
});

afterAll(() => {
  sleeper?.kill('SIGKILL');
  ns?.remove();
  cfg?.remove();
});

describe('foreign tables, rules and routes survive every netcg command byte-for-byte', () => {
  let before: string;
  const steps: Array<[string, () => void]> = [
    ['apply', () => cliOk(['apply', '-c', cfg.file, '--netns', ns.path])],
    ['apply again (nothing to do)', () => cliOk(['apply', '-c', cfg.file, '--netns', ns.path])],
    ['diff', () => expect(runCli(['diff', '-c', cfg.file, '--netns', ns.path]).code).toBe(0)],
    ['status', () => cliOk(['status', '-c', cfg.file, '--netns', ns.path])],
    ['doctor', () => expect(runCli(['doctor', '-c', cfg.file, '--netns', ns.path]).code).not.toBeNull()],
    ['export', () => cliOk(['export', '-c', cfg.file, '--netns', ns.path])],
    ['ps', () => cliOk(['ps', '-c', cfg.file])],
    ['enroll', () => cliOk(['enroll', '-c', cfg.file, 'vpn', String(sleeper!.pid)])],
    ['leave', () => cliOk(['leave', '-c', cfg.file, String(sleeper!.pid)])],
    ['run', () => cliOk(['run', '-c', cfg.file, 'unlocator', '--', '/bin/true'], { netns: ns })],
    ['apply --backend nft', () => cliOk(['apply', '-c', cfg.file, '--netns', ns.path, '--backend', 'nft'])],
    [
      'apply after an out-of-band edit (netcg rule deleted, repaired)',
      () => {
        ns.ip(
          '-4',
          'rule',
          'del',
          'priority',
          '10000',
          'fwmark',
          `0x${CLASSID.toString(16)}`,
          'lookup',
          String(CLASSID),
        );
        expect(runCli(['diff', '-c', cfg.file, '--netns', ns.path]).code).toBe(2);
        cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
      },
    ],
    ['down', () => cliOk(['down', '-c', cfg.file, '--netns', ns.path])],
    ['down again (nothing left)', () => cliOk(['down', '-c', cfg.file, '--netns', ns.path])],
  ];

  beforeAll(() => {
    sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    before = foreignSnapshot();
    // Guard against a vacuous comparison: the foreign state is really there, with counters.
    expect(before).toContain('chain DOCKER-ISOLATION-STAGE-1');
    expect(before).toContain('chain filter_IN_libvirt_allow');
    expect(before).toMatch(/counter packets \d+ bytes \d+/);
    expect(before).toContain(`9000:\tfrom all fwmark 0x2b lookup 200`);
    expect(before).toContain(`198.51.100.77 dev ${VIA} table ${CLASSID}`);
  });

  it.each(steps.map(([name], i) => [name, i] as const))('%s', (_name, i) => {
    steps[i]![1]();
    expect(foreignSnapshot()).toBe(before);
    const tables = ns.nft('list', 'tables').trim().split('\n').sort();
    expect(tables).toEqual(expect.arrayContaining(FOREIGN_TABLES.map((t) => `table ${t}`)));
  });

  it('after down nothing of netcg is left: no table, no proto-110 rule or route', () => {
    expect(ns.nft('list', 'tables')).not.toContain(cfg.table);
    expect(netcgLines()).toEqual([]);
    expect(foreignSnapshot()).toBe(before);
  });
});
