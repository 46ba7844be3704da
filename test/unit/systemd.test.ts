// contrib/systemd units: `systemd-analyze verify` finds nothing to say about them.
// verify insists that Exec binaries exist, so each test verifies a temporary copy
// whose /usr/local/bin/netcg points at a stub; a deliberately broken copy shows
// that verify's complaints do reach the assertion.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const UNITS = ['netcg.service', 'netcg-watch.service'] as const;
const unitText = (name: string) => readFileSync(join('contrib/systemd', name), 'utf8');

describe('contrib/systemd', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netcg-units-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin/netcg'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, 'bin/netcg'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes units (name → text, with the stub's path) into a fresh subdirectory and verifies them there. */
  function verify(units: Record<string, string>): { code: number | null; output: string } {
    const sub = mkdtempSync(join(dir, 'v-'));
    for (const [name, text] of Object.entries(units))
      writeFileSync(join(sub, name), text.replaceAll('/usr/local/bin/netcg', join(dir, 'bin/netcg')));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...Object.keys(units)], {
      cwd: sub,
      encoding: 'utf8',
    });
    return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  }

  it('both units verify with no warning or error', () => {
    expect(verify(Object.fromEntries(UNITS.map((u) => [u, unitText(u)])))).toEqual({ code: 0, output: '' });
  });

  it('verify does report a broken copy (the check above can fail)', () => {
    const broken = unitText('netcg.service').replace('Type=oneshot', 'Type=oneshoot');
    expect(verify({ 'netcg.service': broken }).output).toMatch(/oneshoot/);
  });

  it('netcg.service applies the config before network-pre.target and removes it on stop', () => {
    const u = unitText('netcg.service');
    for (const line of [
      'Wants=network-pre.target',
      'Before=network-pre.target shutdown.target',
      'Type=oneshot',
      'RemainAfterExit=yes',
      'ExecStart=/usr/local/bin/netcg apply -c /etc/netcg/config.yaml',
      'ExecStop=/usr/local/bin/netcg down -c /etc/netcg/config.yaml',
      'CapabilityBoundingSet=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_CHOWN CAP_DAC_OVERRIDE',
      'NoNewPrivileges=yes',
      'RuntimeDirectory=netcg',
    ])
      expect(u.split('\n')).toContain(line);
    // A private mount namespace would hide the net_cls mount netcg may make from the host.
    expect(u).not.toMatch(
      /^(ProtectSystem|PrivateTmp|ProtectHome|ProtectKernelTunables|ProtectControlGroups)=/m,
    );
  });

  it('netcg-watch.service runs `netcg watch` after netcg.service and reloads with SIGHUP', () => {
    const u = unitText('netcg-watch.service').split('\n');
    for (const line of [
      'After=netcg.service',
      'PartOf=netcg.service',
      'ExecStart=/usr/local/bin/netcg watch -c /etc/netcg/config.yaml',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'CapabilityBoundingSet=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_CHOWN CAP_DAC_OVERRIDE',
      'NoNewPrivileges=yes',
    ])
      expect(u).toContain(line);
  });
});
