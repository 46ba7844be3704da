// `dns.server` in the config and in compile: the uid each redirect port's answers must come from.
import { describe, expect, it } from 'vitest';

import { dnsServersOf } from '../../src/compile/dns.js';
import { parseConfig } from '../../src/config/index.js';

const config = (dns: string, more = '') =>
  parseConfig(`profiles:\n  a:\n    classid: 42\n    dns: ${dns}\n${more}`, 'c.yaml');

describe('dns.server', () => {
  it('defaults to root (uid 0) and is not written into the normalized config', () => {
    const c = config('{ redirect: 5354 }');
    expect(c.profiles.a!.dns).toEqual({ redirect: 5354 });
    expect(dnsServersOf(c, Object.values(c.profiles), { linkRoutes: [] })).toEqual([{ port: 5354, uid: 0 }]);
  });

  it('takes a uid as is and a name from the host facts', () => {
    const byUid = config('{ redirect: 5354, server: 101 }');
    expect(byUid.profiles.a!.dns).toEqual({ redirect: 5354, server: '101' });
    expect(dnsServersOf(byUid, Object.values(byUid.profiles), { linkRoutes: [] })).toEqual([
      { port: 5354, uid: 101 },
    ]);
    const byName = config('{ redirect: 5354, server: unbound }');
    expect(
      dnsServersOf(byName, Object.values(byName.profiles), { linkRoutes: [], users: { unbound: 107 } }),
    ).toEqual([{ port: 5354, uid: 107 }]);
  });

  it('names the file and key of a user the host does not have', () => {
    const c = config('{ redirect: 5354, server: ghost }');
    expect(() => dnsServersOf(c, Object.values(c.profiles), { linkRoutes: [] })).toThrow(
      'c.yaml: profiles.a.dns.server: no user "ghost" on this host',
    );
  });

  it('refuses two servers for one port, and a name that is no user name', () => {
    const c = config('{ redirect: 5354 }', '  b:\n    classid: 43\n    dns: { redirect: 5354, server: 1 }\n');
    expect(() => dnsServersOf(c, Object.values(c.profiles), { linkRoutes: [] })).toThrow(
      /profiles\.b\.dns\.server: port 5354 is answered by uid 0 for profile "a" but by uid 1 here/,
    );
    expect(() => config('{ redirect: 5354, server: "no such" }')).toThrow(
      /c\.yaml:4:.*dns\.server.*not a user name or uid/,
    );
  });
});
