import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { closestKey, configSchema, loadConfig, parseConfig, type Config } from '../../src/config/index.js';
import { ConfigError, NetcgError } from '../../src/shared/errors.js';
import { FILE, issuesOf, onlyIssue } from '../helpers/config-issues.js';

describe('loadConfig on examples/seed.yaml', () => {
  it('gives the normalized config with defaults and derived routing', () => {
    const expected: Config = {
      file: 'examples/seed.yaml',
      table: 'netcg',
      cgroupParent: 'netcg',
      ipRulePriority: 10000,
      profiles: {
        unlocator: { name: 'unlocator', classid: 42, dns: { redirect: 5354 }, ipv6: 'reject' },
        vpn: {
          name: 'vpn',
          classid: 43,
          route: {
            via: 'tun0',
            mark: 43,
            table: 43,
            copyLinkRoutes: true,
            masquerade: true,
            failClosed: true,
          },
        },
      },
    };
    expect(loadConfig('examples/seed.yaml')).toEqual(expected);
  });

  it('keeps the profiles in file order', () => {
    expect(Object.keys(loadConfig('examples/seed.yaml').profiles)).toEqual(['unlocator', 'vpn']);
  });

  it('reports an unreadable file with its name', () => {
    expect(() => loadConfig('/nonexistent/netcg.yaml')).toThrow(NetcgError);
    expect(() => loadConfig('/nonexistent/netcg.yaml')).toThrow(
      /cannot read config file \/nonexistent\/netcg.yaml/,
    );
  });
});

describe('parseConfig: accepted forms', () => {
  it('applies defaults: table, cgroupParent, ipRulePriority, copyLinkRoutes, masquerade', () => {
    const c = parseConfig('profiles:\n  v:\n    classid: 7\n    route: { via: wg0 }\n', FILE);
    expect(c).toEqual({
      file: FILE,
      table: 'netcg',
      cgroupParent: 'netcg',
      ipRulePriority: 10000,
      profiles: {
        v: {
          name: 'v',
          classid: 7,
          route: { via: 'wg0', mark: 7, table: 7, copyLinkRoutes: true, masquerade: true, failClosed: true },
        },
      },
    });
  });

  it('accepts a classid in hex, as a YAML number or a string', () => {
    const c = parseConfig(
      'profiles:\n  a: { classid: 0x0010002a, ipv6: reject }\n  b: { classid: "0x0010002b", ipv6: reject }\n  c: { classid: "44", ipv6: reject }\n',
      FILE,
    );
    expect([c.profiles.a!.classid, c.profiles.b!.classid, c.profiles.c!.classid]).toEqual([
      0x0010002a, 0x0010002b, 44,
    ]);
  });

  it('accepts the largest classid and a numeric owner', () => {
    const c = parseConfig('profiles:\n  a: { classid: 0xffffffff, owner: 1000, ipv6: reject }\n', FILE);
    expect(c.profiles.a).toEqual({ name: 'a', classid: 0xffffffff, owner: '1000', ipv6: 'reject' });
  });

  it('accepts JSON', () => {
    const json = JSON.stringify({
      table: 'nc_json',
      ipRulePriority: 20000,
      profiles: {
        unlocator: { classid: 42, owner: 'md', dns: { redirect: 5354 }, ipv6: 'reject' },
        vpn: { classid: 43, route: { via: 'tun0', copyLinkRoutes: false } },
      },
    });
    expect(parseConfig(json, 'netcg.json')).toEqual({
      file: 'netcg.json',
      table: 'nc_json',
      cgroupParent: 'netcg',
      ipRulePriority: 20000,
      profiles: {
        unlocator: { name: 'unlocator', classid: 42, owner: 'md', dns: { redirect: 5354 }, ipv6: 'reject' },
        vpn: {
          name: 'vpn',
          classid: 43,
          route: {
            via: 'tun0',
            mark: 43,
            table: 43,
            copyLinkRoutes: false,
            masquerade: true,
            failClosed: true,
          },
        },
      },
    });
  });

  it('reports JSON errors with their line and column too', () => {
    const json = '{\n  "profiles": {\n    "a": { "classid": 0, "ipv6": "reject" }\n  }\n}\n';
    expect(issuesOf(json)).toMatchObject([{ line: 3, col: 23, path: 'profiles.a.classid' }]);
  });

  it('accepts an empty profiles mapping (an empty table)', () => {
    expect(parseConfig('profiles: {}\n', FILE).profiles).toEqual({});
  });
});

describe('derived marks and tables', () => {
  it('profiles routing via the same interface share the lowest classid as mark and table', () => {
    const c = parseConfig(
      'profiles:\n  b: { classid: 51, route: { via: tun0 } }\n  a: { classid: 50, route: { via: tun0 } }\n  w: { classid: 60, route: { via: wg0 } }\n',
      FILE,
    );
    expect(
      [c.profiles.b!.route, c.profiles.a!.route, c.profiles.w!.route].map((r) => [r!.mark, r!.table]),
    ).toEqual([
      [50, 50],
      [50, 50],
      [60, 60],
    ]);
  });

  it('an explicit mark or table wins over the derived one', () => {
    const c = parseConfig(
      'profiles:\n  a: { classid: 50, route: { via: tun0, mark: 0x100, table: 100 } }\n  b: { classid: 51, route: { via: tun0 } }\n',
      FILE,
    );
    expect([
      c.profiles.a!.route!.mark,
      c.profiles.a!.route!.table,
      c.profiles.b!.route!.mark,
      c.profiles.b!.route!.table,
    ]).toEqual([256, 100, 50, 50]);
  });
});

describe('parseConfig: bad input, each located at FILE:LINE:COL and key path', () => {
  it('an unknown top-level key, suggesting the closest', () => {
    const msg = onlyIssue('tabel: x\nprofiles: {}\n', 1, 1, 'tabel');
    expect(msg).toBe(
      'unknown key "tabel"; did you mean "table"? (known keys here: table, cgroupParent, ipRulePriority, profiles)',
    );
  });

  it('an unknown key in a profile, in dns and in route', () => {
    const text = [
      'profiles:',
      '  p:',
      '    classid: 42',
      '    dsn: { redirect: 5354 }',
      '    ipv6: reject',
      '    route: { via: tun0, copyLinkRoute: true }',
      '  q:',
      '    classid: 43',
      '    dns: { redirect: 5354, port: 1 }',
      '',
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues.map(({ line, col, path }) => ({ line, col, path }))).toEqual([
      { line: 4, col: 5, path: 'profiles.p.dsn' },
      { line: 6, col: 25, path: 'profiles.p.route.copyLinkRoute' },
      { line: 9, col: 28, path: 'profiles.q.dns.port' },
    ]);
    expect(issues[0]!.message).toMatch(/^unknown key "dsn"; did you mean "dns"\?/);
    expect(issues[1]!.message).toMatch(/did you mean "copyLinkRoutes"\?/);
    expect(issues[2]!.message).toBe('unknown key "port" (known keys here: redirect, server)');
  });

  it('a port out of range', () => {
    expect(
      onlyIssue(
        'profiles:\n  p:\n    classid: 42\n    dns: { redirect: 70000 }\n',
        4,
        22,
        'profiles.p.dns.redirect',
      ),
    ).toBe('port 70000 is out of range; use 1..65535');
    expect(
      onlyIssue(
        'profiles:\n  p:\n    classid: 42\n    dns:\n      redirect: 0\n',
        5,
        17,
        'profiles.p.dns.redirect',
      ),
    ).toBe('port 0 is out of range; use 1..65535');
  });

  it('a port that is not a number', () => {
    expect(
      onlyIssue(
        'profiles:\n  p:\n    classid: 42\n    dns: { redirect: dns }\n',
        4,
        22,
        'profiles.p.dns.redirect',
      ),
    ).toBe('expected a port number in 1..65535, got "dns"');
  });

  it('a duplicate classid, naming the profile that has it', () => {
    const msg = onlyIssue(
      'profiles:\n  a: { classid: 42, ipv6: reject }\n  b: { classid: 0x2a, ipv6: reject }\n',
      3,
      17,
      'profiles.b.classid',
    );
    expect(msg).toMatch(/^classid 42 \(0x0000002a\) is already used by profile "a"/);
  });

  it('classid 0, too large, or malformed', () => {
    expect(
      onlyIssue('profiles:\n  a:\n    classid: 0\n    ipv6: reject\n', 3, 14, 'profiles.a.classid'),
    ).toMatch(/^classid 0 means "no class"/);
    expect(
      onlyIssue('profiles:\n  a:\n    classid: 0x100000000\n    ipv6: reject\n', 3, 14, 'profiles.a.classid'),
    ).toBe('classid 4294967296 does not fit in 32 bits; use 1..0xffffffff');
    expect(
      onlyIssue('profiles:\n  a:\n    classid: "10:2a"\n    ipv6: reject\n', 3, 14, 'profiles.a.classid'),
    ).toMatch(/^classid "10:2a" is not a number; write it in decimal \(42\) or as hex 0xMMMMmmmm/);
    expect(
      onlyIssue('profiles:\n  a:\n    classid: 1.5\n    ipv6: reject\n', 3, 14, 'profiles.a.classid'),
    ).toMatch(/not a whole number/);
  });

  it('a missing classid, at the profile', () => {
    expect(onlyIssue('profiles:\n  a:\n    ipv6: reject\n', 2, 3, 'profiles.a.classid')).toBe(
      'required key "classid" is missing: profile "a" needs a classid (net_cls matches members by it, and match: auto uses net_cls where the kernel has it); add classid: N, or set match: cgroupv2 to match by cgroup v2 ID only',
    );
  });

  it('a profile name that is not a valid cgroup directory name, explaining why', () => {
    const text =
      'profiles:\n  ../etc: { classid: 1, ipv6: reject }\n  "with space": { classid: 2, ipv6: reject }\n  ok.name-1: { classid: 3, ipv6: reject }\n';
    const issues = issuesOf(text);
    expect(issues.map(({ line, col, path }) => ({ line, col, path }))).toEqual([
      { line: 2, col: 3, path: 'profiles.../etc' },
      { line: 3, col: 3, path: 'profiles.with space' },
    ]);
    expect(issues[0]!.message).toBe(
      '"../etc" is not a valid profile name: a profile name becomes a cgroup directory and part of nft chain names, so use 1-64 of A-Z a-z 0-9 _ . - and do not start with . or -',
    );
  });

  it('__proto__ as a profile name (it would silently vanish)', () => {
    expect(
      onlyIssue('profiles:\n  __proto__: { classid: 5, ipv6: reject }\n', 2, 3, 'profiles.__proto__'),
    ).toBe('"__proto__" cannot be a profile name; choose another name');
  });

  it('an interface name longer than 15 bytes, or with /, : or whitespace', () => {
    expect(
      onlyIssue(
        'profiles:\n  v:\n    classid: 43\n    route: { via: abcdefghijklmnop }\n',
        4,
        19,
        'profiles.v.route.via',
      ),
    ).toBe(
      'interface name "abcdefghijklmnop" is 16 bytes long; Linux allows at most 15 (IFNAMSIZ 16 with the final NUL)',
    );
    for (const bad of ['"tun/0"', '"tun:0"', '"tun 0"']) {
      expect(
        onlyIssue(
          `profiles:\n  v:\n    classid: 43\n    route:\n      via: ${bad}\n`,
          5,
          12,
          'profiles.v.route.via',
        ),
      ).toMatch(/contains '\/', ':' or whitespace/);
    }
    // 15 bytes is the limit, counted in bytes not characters.
    expect(() =>
      parseConfig('profiles:\n  v: { classid: 43, route: { via: abcdefghijklmno } }\n', FILE),
    ).not.toThrow();
    expect(
      onlyIssue(
        'profiles:\n  v: { classid: 43, route: { via: ééééééééé } }\n',
        2,
        35,
        'profiles.v.route.via',
      ),
    ).toMatch(/is 18 bytes long/);
  });

  it('a missing via under route, at the route key', () => {
    expect(
      onlyIssue(
        'profiles:\n  v:\n    classid: 43\n    route:\n      table: 43\n',
        4,
        5,
        'profiles.v.route.via',
      ),
    ).toBe('required key "via" is missing; expected an interface name such as tun0');
  });

  it('an empty route value', () => {
    expect(onlyIssue('profiles:\n  v:\n    classid: 43\n    route:\n', 4, 5, 'profiles.v.route')).toBe(
      'expected a mapping like { via: tun0 }, got an empty value',
    );
  });

  it('a profile with no effect is an error', () => {
    expect(onlyIssue('profiles:\n  idle:\n    classid: 43\n', 2, 3, 'profiles.idle')).toBe(
      'profile "idle" has no effect; give it at least one of dns: { redirect: PORT }, ipv6: reject, route: { via: IFACE }, network: offline, proxy: { tcp: PORT }',
    );
  });

  it('a reserved routing table, explicit or derived', () => {
    expect(
      onlyIssue(
        'profiles:\n  v: { classid: 43, route: { via: tun0, table: 254 } }\n',
        2,
        48,
        'profiles.v.route.table',
      ),
    ).toBe('table 254 is the kernel\'s "main" table; pick another number, e.g. 100');
    expect(
      onlyIssue('profiles:\n  v:\n    classid: 255\n    route: { via: tun0 }\n', 4, 5, 'profiles.v.route'),
    ).toMatch(
      /^the derived routing table 255 \(the lowest classid among profiles routing via tun0\) is the kernel's "local" table; set route.table explicitly/,
    );
  });

  it('mark 0', () => {
    expect(
      onlyIssue(
        'profiles:\n  v: { classid: 43, route: { via: tun0, mark: 0 } }\n',
        2,
        47,
        'profiles.v.route.mark',
      ),
    ).toBe('mark 0 is out of range; use 1..0xffffffff');
  });

  it('two interfaces on one table, and one mark selecting two tables', () => {
    const issues = issuesOf(
      'profiles:\n  a: { classid: 43, route: { via: tun0 } }\n  b:\n    classid: 44\n    route: { via: wg0, table: 43 }\n  c:\n    classid: 45\n    route: { via: wg1, mark: 43, table: 45 }\n',
    );
    expect(issues.map(({ line, col, path }) => ({ line, col, path }))).toEqual([
      { line: 5, col: 24, path: 'profiles.b.route.table' },
      { line: 8, col: 24, path: 'profiles.c.route.mark' },
    ]);
    expect(issues[0]!.message).toMatch(/^routing table 43 already routes via tun0 \(profile "a"\)/);
    expect(issues[1]!.message).toMatch(
      /^mark 43 \(0x0000002b\) already selects routing table 43 \(profile "a"\)/,
    );
  });

  it('profiles sharing a table that disagree on copyLinkRoutes', () => {
    const msg = onlyIssue(
      'profiles:\n  a: { classid: 43, route: { via: tun0 } }\n  b: { classid: 44, route: { via: tun0, copyLinkRoutes: false } }\n',
      3,
      41,
      'profiles.b.route.copyLinkRoutes',
    );
    expect(msg).toBe(
      'copyLinkRoutes is false here but true for profile "a", which shares routing table 43; set the same value on both',
    );
  });

  it('profiles sharing a table that disagree on failClosed', () => {
    const msg = onlyIssue(
      'profiles:\n  a: { classid: 43, route: { via: tun0 } }\n  b: { classid: 44, route: { via: tun0, failClosed: false } }\n',
      3,
      41,
      'profiles.b.route.failClosed',
    );
    expect(msg).toBe(
      'failClosed is false here but true for profile "a", which shares routing table 43 (the kill switch is a route in that table); set the same value on both',
    );
  });

  it('YAML syntax errors, with their line', () => {
    const issues = issuesOf('profiles:\n  a: { classid: 42, ipv6: reject\n  b: 1\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ file: FILE, line: 3 });
    expect(issues[0]!.message).toMatch(/^YAML syntax error: /);
  });

  it('an empty file', () => {
    expect(onlyIssue('', 1, 1, '')).toMatch(/^the file is empty/);
    expect(onlyIssue('# only a comment\n', 1, 1, '')).toMatch(/^the file is empty/);
  });

  it('a file that is not a mapping', () => {
    expect(onlyIssue('- a\n- b\n', 1, 1, '')).toBe(
      'expected a mapping with at least a `profiles:` key, got a list',
    );
  });

  it('a missing profiles key', () => {
    expect(onlyIssue('table: netcg\n', 1, 1, 'profiles')).toBe(
      'required key "profiles" is missing; expected a mapping of profile names to profiles',
    );
  });

  it('duplicate YAML keys', () => {
    expect(
      onlyIssue(
        'profiles:\n  a:\n    classid: 42\n    classid: 43\n    ipv6: reject\n',
        4,
        5,
        'profiles.a.classid',
      ),
    ).toBe('duplicate key "classid"; a key may appear only once in a mapping, remove or merge one of them');
  });

  it('bad top-level values', () => {
    expect(onlyIssue('table: "my table"\nprofiles: {}\n', 1, 8, 'table')).toMatch(
      /^table "my table" is not an nft identifier/,
    );
    expect(onlyIssue('cgroupParent: /sys/fs\nprofiles: {}\n', 1, 15, 'cgroupParent')).toMatch(
      /is not a relative cgroup path/,
    );
    expect(onlyIssue('ipRulePriority: 32766\nprofiles: {}\n', 1, 17, 'ipRulePriority')).toMatch(
      /after the main table's rule/,
    );
  });

  it('ipv6 values other than reject', () => {
    expect(onlyIssue('profiles:\n  a: { classid: 42, ipv6: allow }\n', 2, 27, 'profiles.a.ipv6')).toBe(
      'ipv6 "allow" is not supported; the only value is "reject" (omit the key to leave IPv6 alone)',
    );
  });

  it('collects every issue, sorted by position, and lists them like a compiler', () => {
    const text = [
      'tabel: x', //                                   1: unknown key
      'profiles:',
      '  "bad/name": { classid: 42, ipv6: reject }', // 3: bad name
      '  b:',
      '    classid: 42', //                            5: duplicate classid
      '    dns: { redirect: 99999 }', //               6: port
      '  c:',
      '    classid: 0', //                             8: classid 0
      '    route: {}', //                              9: missing via
      '',
    ].join('\n');
    let error: ConfigError | undefined;
    try {
      parseConfig(text, FILE);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.code).toBe('ECONFIG');
    expect(error!.issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual([
      '1:1 tabel',
      '3:3 profiles.bad/name',
      '5:14 profiles.b.classid',
      '6:22 profiles.b.dns.redirect',
      '8:14 profiles.c.classid',
      '9:5 profiles.c.route.via',
    ]);
    const lines = error!.message.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[3]).toBe(
      'netcg.yaml:6:22: profiles.b.dns.redirect: port 99999 is out of range; use 1..65535',
    );
  });
});

describe('closestKey', () => {
  it('suggests near misses and nothing for unrelated words', () => {
    expect(closestKey('clasid', ['classid', 'owner'])).toBe('classid');
    expect(closestKey('Masquerade', ['via', 'masquerade'])).toBe('masquerade');
    expect(closestKey('colour', ['classid', 'owner', 'dns', 'ipv6', 'route'])).toBeUndefined();
  });
});

describe('configSchema', () => {
  it('converts to a JSON Schema that forbids unknown keys', () => {
    const schema = z.toJSONSchema(configSchema, { io: 'input' }) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
      required: string[];
    };
    expect(Object.keys(schema.properties)).toEqual(['table', 'cgroupParent', 'ipRulePriority', 'profiles']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['profiles']);
  });
});

describe('loadConfig from a file', () => {
  it('names the file in its issues', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netcg-config-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, 'profiles:\n  a: { classid: 0, ipv6: reject }\n');
      expect(() => loadConfig(file)).toThrow(`${file}:2:17: profiles.a.classid: classid 0 means "no class"`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
