// `dns.server` and `proxy.server` in the config and in compile: the uid each redirect port's answers must come from.
import { describe, expect, it } from 'vitest';

import { portServersOf } from '../../src/compile/servers.js';
import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ruleText } from '../../src/render/decompile.js';

const config = (dns: string, more = '') =>
  parseConfig(`profiles:\n  a:\n    classid: 42\n    dns: ${dns}\n${more}`, 'c.yaml');
const servers = (c: ReturnType<typeof config>, users?: Record<string, number>) =>
  portServersOf(c, Object.values(c.profiles), { linkRoutes: [], ...(users ? { users } : {}) });

describe('dns.server', () => {
  it('defaults to root (uid 0) and is not written into the normalized config', () => {
    const c = config('{ redirect: 5354 }');
    expect(c.profiles.a!.dns).toEqual({ redirect: 5354 });
    expect(servers(c).dns).toEqual([{ port: 5354, uid: 0 }]);
  });

  it('takes a uid as is and a name from the host facts', () => {
    const byUid = config('{ redirect: 5354, server: 101 }');
    expect(byUid.profiles.a!.dns).toEqual({ redirect: 5354, server: '101' });
    expect(servers(byUid).dns).toEqual([{ port: 5354, uid: 101 }]);
    const byName = config('{ redirect: 5354, server: unbound }');
    expect(servers(byName, { unbound: 107 }).dns).toEqual([{ port: 5354, uid: 107 }]);
  });

  it('names the file and key of a user the host does not have', () => {
    const c = config('{ redirect: 5354, server: ghost }');
    expect(() => servers(c)).toThrow('c.yaml: profiles.a.dns.server: no user "ghost" on this host');
  });

  it('refuses two servers for one port, and a name that is no user name', () => {
    const c = config('{ redirect: 5354 }', '  b:\n    classid: 43\n    dns: { redirect: 5354, server: 1 }\n');
    expect(() => servers(c)).toThrow(
      /profiles\.b\.dns\.server: port 5354 is answered by uid 0 for profile "a" \(dns\) but by uid 1 here/,
    );
    expect(() => config('{ redirect: 5354, server: "no such" }')).toThrow(
      /c\.yaml:4:.*dns\.server.*not a user name or uid/,
    );
  });
});

describe('proxy.server', () => {
  const proxy = (p: string, more = '') =>
    parseConfig(`profiles:\n  t:\n    classid: 44\n    proxy: ${p}\n${more}`, 'c.yaml');

  it('defaults to root; a name or uid is kept as written', () => {
    expect(proxy('{ tcp: 9040 }').profiles.t!.proxy).toEqual({ tcp: 9040 });
    expect(proxy('{ tcp: 9040, udp: reject, server: debian-tor }').profiles.t!.proxy).toEqual({
      tcp: 9040,
      udp: 'reject',
      server: 'debian-tor',
    });
    expect(servers(proxy('{ tcp: 9040 }'))).toEqual({ dns: [], proxy: [{ port: 9040, uid: 0 }] });
    expect(servers(proxy('{ tcp: 9040, server: debian-tor }'), { 'debian-tor': 108 }).proxy).toEqual([
      { port: 9040, uid: 108 },
    ]);
    expect(() => servers(proxy('{ tcp: 9040, server: ghost }'))).toThrow(
      'c.yaml: profiles.t.proxy.server: no user "ghost" on this host; name an existing user (the one your proxy runs as) or a uid',
    );
    expect(() => proxy('{ tcp: 9040, server: "a b" }')).toThrow(/proxy\.server.*not a user name or uid/);
  });

  it('a dns redirect and a proxy on one port must name one server', () => {
    const c = proxy('{ tcp: 5354, server: 7 }', '  a:\n    classid: 42\n    dns: { redirect: 5354 }\n');
    expect(() => servers(c)).toThrow(
      /profiles\.t\.proxy\.server: port 5354 is answered by uid 0 for profile "a" \(dns\) but by uid 7 here/,
    );
  });

  it('compiles to filter_proxyreply: the SYN-ACK of any other user than the server is dropped', () => {
    const c = proxy('{ tcp: 9040, server: 108 }');
    const chain = compile(c, { linkRoutes: [] }).table.chains.find((x) => x.name === 'filter_proxyreply')!;
    expect(chain.hook).toEqual({ type: 'filter', hook: 'output', priority: 0, policy: 'accept' });
    expect(chain.rules.map((r) => ruleText(r.exprs))).toEqual([
      'tcp sport 9040 tcp flags syn ct direction reply ct status dnat meta skuid != 108 counter drop',
    ]);
  });
});
