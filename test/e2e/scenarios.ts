// The foundation's traffic scenarios (issue 2, 3-5), written once and run for each
// way of matching members (net_cls classids in traffic.test.ts, cgroup v2 IDs in
// traffic-v2.test.ts). A profile member runs through `netcg run PROFILE -- …`, the
// outsider through plain nsenter; the outsider's result is the control: it shows
// what the member would get without netcg, so each assertion proves the ruleset
// changed the member's traffic.
import { describe, expect, it } from 'vitest';
import { echo, ECHO_PORT, NORMAL_DNS, resolve, UNLOCATOR_DNS, type Launcher } from '../helpers/bench.js';
import { FAR, LAN, VPN } from '../helpers/topology.js';

export interface Members {
  unlocator: Launcher;
  vpn: Launcher;
  plain: Launcher;
}

/** Registers the scenario tests; `members()` is read when the tests run (after beforeAll). */
export function trafficScenarios(members: () => Members): void {
  const get = () => members();
  describe('DNS redirect (scenario 3)', () => {
    // 198.18.0.2 is the lan gateway: routable, but no DNS server listens there.
    const servers = {
      'the local resolver 127.0.0.1': '127.0.0.1',
      'another, routable address without a server': LAN.gatewayV4,
    };

    for (const [label, server] of Object.entries(servers)) {
      for (const tcp of [false, true]) {
        it(`a member's ${tcp ? 'TCP' : 'UDP'} query to ${label} gets the :5354 answer`, () => {
          const r = resolve(get().unlocator, { server, tcp });
          expect(r.answer, r.stdout + r.stderr).toBe(UNLOCATOR_DNS.answer);
        });
      }
    }

    for (const tcp of [false, true]) {
      it(`an outsider's ${tcp ? 'TCP' : 'UDP'} query to 127.0.0.1 gets the :53 answer`, () => {
        const r = resolve(get().plain, { server: '127.0.0.1', tcp });
        expect(r.answer, r.stdout + r.stderr).toBe(NORMAL_DNS.answer);
      });
    }

    it("an outsider's query to the server-less address is not redirected (it gets no answer)", () => {
      expect(resolve(get().plain, { server: LAN.gatewayV4 }).answer).toBe('');
    });

    it('a member of another profile is not redirected', () => {
      const r = resolve(get().vpn, { server: '127.0.0.1' });
      expect(r.answer, r.stdout + r.stderr).toBe(NORMAL_DNS.answer);
    });
  });

  describe('IPv6 reject (scenario 4)', () => {
    it("a member's TCP connection to a listener on [::1] fails", () => {
      const r = echo(get().unlocator, 'tcp', '::1', ECHO_PORT);
      expect(r.gateway, r.outcome.stdout + r.outcome.stderr).toBeUndefined();
      expect(r.error).toMatch(/^E[A-Z]+$/);
    });

    it("an outsider's TCP connection to the same listener succeeds", () => {
      const r = echo(get().plain, 'tcp', '::1', ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'host', source: '::1' });
    });

    it("a member's IPv4 still works (only IPv6 is rejected)", () => {
      const r = echo(get().unlocator, 'tcp', '127.0.0.1', ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'host', source: '127.0.0.1' });
    });
  });

  describe('VPN routing (scenario 5)', () => {
    for (const proto of ['tcp', 'udp'] as const) {
      it(`a member of vpn reaches the vpn gateway over ${proto}, seen from tun0's address`, () => {
        const r = echo(get().vpn, proto, FAR.v4, ECHO_PORT);
        expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV4 });
      });

      it(`an outsider reaches the lan gateway over ${proto}, from lan0's address`, () => {
        const r = echo(get().plain, proto, FAR.v4, ECHO_PORT);
        expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV4 });
      });
    }

    it("a member of vpn reaches the vpn gateway over IPv6 too, seen from tun0's IPv6 address", () => {
      const r = echo(get().vpn, 'tcp', FAR.v6, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'vpn', source: VPN.hostV6 });
    });

    it('an outsider reaches the lan gateway over IPv6', () => {
      const r = echo(get().plain, 'tcp', FAR.v6, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV6 });
    });

    it('a member of another profile reaches lan', () => {
      const r = echo(get().unlocator, 'tcp', FAR.v4, ECHO_PORT);
      expect(r, r.outcome.stderr).toMatchObject({ gateway: 'lan', source: LAN.hostV4 });
    });
  });
}
