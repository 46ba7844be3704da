// Each doctor check over crafted inputs: mountinfo, /proc/cgroups, sysctl values,
// nsswitch.conf, process names, the chains of a dump, the mapped libnftnl file.
import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../src/config/index.js';
import { checkForeignChains, type ChainInfo } from '../../src/doctor/chains.js';
import { exitCode, runDoctor, type DoctorInputs } from '../../src/doctor/index.js';
import { checkIptablesLegacy, checkLibnftnl, checkResolver, nssHostsSources } from '../../src/doctor/host.js';
import { checkCgroups, checkMixedMatching, checkNftables } from '../../src/doctor/kernel.js';
import { checkIpv6, checkRpFilter } from '../../src/doctor/net.js';

const PROC_CGROUPS = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nnet_cls\t3\t1\t1\n';
const NO_NET_CLS = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nnet_cls\t0\t1\t0\n';
const HYBRID = [
  '30 24 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
  '35 24 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid - cgroup cgroup rw,net_cls,net_prio',
].join('\n');
const V2_ONLY = '30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate';

describe('kernel checks', () => {
  it('nf_tables: an error when the probe failed, a warning when only socket cgroupv2 did', () => {
    expect(
      checkNftables({ nftables: 'EPERM (Operation not permitted)' }, 'here').map((f) => f.level),
    ).toEqual(['error']);
    expect(checkNftables({ socketCgroupv2: 'EOPNOTSUPP' }, 'here').map((f) => f.level)).toEqual([
      'ok',
      'warn',
    ]);
    expect(checkNftables({}, 'here').map((f) => f.level)).toEqual(['ok', 'ok']);
  });

  it('net_cls and cgroup2: missing is an error only when a profile needs it; unmounted net_cls is fine (apply mounts it)', () => {
    expect(checkCgroups(NO_NET_CLS, HYBRID, { netCls: ['a'], cgroupv2: [] })[0]).toMatchObject({
      check: 'net_cls',
      level: 'error',
    });
    expect(checkCgroups(NO_NET_CLS, HYBRID, { netCls: [], cgroupv2: ['b'] })[0]).toMatchObject({
      level: 'info',
    });
    expect(checkCgroups(PROC_CGROUPS, V2_ONLY, { netCls: ['a'], cgroupv2: [] })[0]).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('not mounted'),
    });
    expect(checkCgroups(PROC_CGROUPS, HYBRID, { netCls: ['a'], cgroupv2: [] })[0]!.message).toContain(
      '/sys/fs/cgroup/net_cls,net_prio',
    );
    expect(checkCgroups(PROC_CGROUPS, '', { netCls: [], cgroupv2: ['b'] })[1]).toMatchObject({
      check: 'cgroup2',
      level: 'error',
    });
    expect(checkCgroups(PROC_CGROUPS, HYBRID, { netCls: [], cgroupv2: ['b'] })[1]).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('/sys/fs/cgroup/unified'),
    });
  });

  it('the v1/v2 mixing bug: an error on kernels < 5.15 with both kinds of profiles, fine on newer ones', () => {
    const both = { netCls: ['a'], cgroupv2: ['b'] };
    expect(checkMixedMatching('5.10.0-28-amd64', both, true).level).toBe('error');
    expect(checkMixedMatching('5.15.0', both, true).level).toBe('ok');
    expect(checkMixedMatching('6.18.44', both, true).level).toBe('ok');
    expect(checkMixedMatching('5.4.0', { netCls: [], cgroupv2: ['b'] }, true).level).toBe('warn');
    expect(checkMixedMatching('5.4.0', { netCls: [], cgroupv2: ['b'] }, false).level).toBe('ok');
    expect(checkMixedMatching('4.19.0', { netCls: ['a'], cgroupv2: [] }, true).level).toBe('ok');
  });
});

describe('network checks', () => {
  it('rp_filter: strict on a via interface without src_valid_mark is a warning with the fix; loose, off or with src_valid_mark is fine', () => {
    const strict = checkRpFilter(['tun0'], {
      'ipv4/conf/all/rp_filter': '0',
      'ipv4/conf/tun0/rp_filter': '1',
      'ipv4/conf/all/src_valid_mark': '0',
    });
    expect(strict).toEqual([
      expect.objectContaining({
        level: 'warn',
        fix: expect.stringContaining('net.ipv4.conf.tun0.rp_filter=2'),
      }),
    ]);
    // The kernel takes max(all, dev): all=1 makes tun0 strict too.
    expect(
      checkRpFilter(['tun0'], { 'ipv4/conf/all/rp_filter': '1', 'ipv4/conf/tun0/rp_filter': '0' })[0]!.level,
    ).toBe('warn');
    expect(
      checkRpFilter(['tun0'], {
        'ipv4/conf/all/rp_filter': '1',
        'ipv4/conf/tun0/rp_filter': '1',
        'ipv4/conf/all/src_valid_mark': '1',
      })[0]!.level,
    ).toBe('ok');
    expect(
      checkRpFilter(['tun0'], { 'ipv4/conf/all/rp_filter': '2', 'ipv4/conf/tun0/rp_filter': '0' })[0]!
        .message,
    ).toContain('loose');
    expect(checkRpFilter(['tun0'], { 'ipv4/conf/all/rp_filter': '0' })[0]!.level).toBe('error');
    expect(checkRpFilter([], {})[0]!.level).toBe('ok');
  });

  it('IPv6 off: a warning with a DNS profile, moot (info) with only ipv6: reject, fine otherwise', () => {
    const off = { 'ipv6/conf/all/disable_ipv6': '1' };
    expect(checkIpv6(off, '', { dns: ['u'], reject: ['u'] }).level).toBe('warn');
    expect(checkIpv6(off, '', { dns: [], reject: ['u'] })).toMatchObject({
      level: 'info',
      message: expect.stringContaining('moot'),
    });
    expect(checkIpv6({}, undefined, { dns: [], reject: [] })).toMatchObject({
      level: 'ok',
      message: expect.stringContaining('no net.ipv6 sysctls'),
    });
    expect(
      checkIpv6({ 'ipv6/conf/all/disable_ipv6': '0' }, '', { dns: ['u'], reject: [] }).message,
    ).toContain('if_inet6 is empty');
    expect(
      checkIpv6(
        { 'ipv6/conf/all/disable_ipv6': '0' },
        '00000000000000000000000000000001 01 80 10 80       lo\n',
        { dns: ['u'], reject: [] },
      ).level,
    ).toBe('ok');
  });
});

describe('host checks', () => {
  it('nss-resolve before dns bypasses port 53; after dns it does not', () => {
    expect(
      nssHostsSources(
        'passwd: files\nhosts:          files mymachines resolve [!UNAVAIL=return] dns myhostname # x\n',
      ),
    ).toEqual(['files', 'mymachines', 'resolve', 'dns', 'myhostname']);
    expect(checkResolver('hosts: files resolve [!UNAVAIL=return] dns\n', [], ['u'])[0]).toMatchObject({
      check: 'nss-resolve',
      level: 'warn',
      fix: expect.stringContaining('resolve'),
    });
    expect(checkResolver('hosts: files dns resolve\n', [], ['u'])[0]!.level).toBe('ok');
    expect(checkResolver('hosts: files resolve\n', [], [])[0]!.level).toBe('info');
  });

  it('a running DNS-over-HTTPS client is named with its pid', () => {
    const f = checkResolver(
      'hosts: files dns\n',
      [
        { pid: 1, comm: 'systemd' },
        { pid: 812, comm: 'cloudflared' },
      ],
      ['u'],
    )[1]!;
    expect(f).toMatchObject({
      check: 'doh-client',
      level: 'warn',
      message: expect.stringContaining('cloudflared (pid 812)'),
    });
  });

  it('iptables-legacy tables in /proc/net/ip_tables_names are a warning', () => {
    expect(checkIptablesLegacy('', '').level).toBe('ok');
    expect(checkIptablesLegacy(undefined, undefined).level).toBe('ok');
    expect(checkIptablesLegacy('filter\nnat\n', 'mangle\n')).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('ip filter, ip nat, ip6 mangle'),
    });
  });

  it('libnftnl: the mapped file must be so.11 with age >= 6 (1.2.4); a load failure is an error', () => {
    expect(checkLibnftnl({ file: '/usr/lib/x86_64-linux-gnu/libnftnl.so.11.6.0' }).level).toBe('ok');
    expect(checkLibnftnl({ file: '/usr/lib/libnftnl.so.11.3.0' }).level).toBe('error');
    expect(checkLibnftnl({ file: '/usr/lib/libnftnl.so.7.1.0' }).level).toBe('error');
    expect(checkLibnftnl({ loadError: 'libnftnl.so.11: cannot open shared object file' }).level).toBe(
      'error',
    );
  });
});

describe('foreign chains', () => {
  const ours: ChainInfo[] = [
    {
      family: 'inet',
      table: 'netcg',
      name: 'nat_output',
      hook: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' },
      rules: 1,
    },
    {
      family: 'inet',
      table: 'netcg',
      name: 'route_output',
      hook: { type: 'route', hook: 'output', priority: -150, policy: 'accept' },
      rules: 1,
    },
  ];
  it('warns about a drop chain at output before netcg, and a nat output chain with rules before its nat_output', () => {
    const drop: ChainInfo = {
      family: 'ip',
      table: 'fw',
      name: 'out',
      hook: { type: 'filter', hook: 'output', priority: -300, policy: 'drop' },
      rules: 0,
    };
    const nat: ChainInfo = {
      family: 'ip',
      table: 'dock',
      name: 'OUTPUT',
      hook: { type: 'nat', hook: 'output', priority: -120, policy: 'accept' },
      rules: 2,
    };
    const later: ChainInfo = {
      family: 'inet',
      table: 'filter',
      name: 'output',
      hook: { type: 'filter', hook: 'output', priority: 0, policy: 'drop' },
      rules: 5,
    };
    const f = checkForeignChains([...ours, drop, nat, later], 'netcg');
    expect(f.map((x) => [x.level, x.message.split(' (')[0]])).toEqual([
      ['warn', 'ip fw chain out'],
      ['warn', 'ip dock chain OUTPUT'],
    ]);
    expect(checkForeignChains([...ours, later], 'netcg')[0]!.level).toBe('ok');
    expect(checkForeignChains([drop], 'netcg')[0]!.level).toBe('ok');
  });
});

describe('runDoctor', () => {
  const base: DoctorInputs = {
    kernelRelease: '6.18.0',
    procCgroups: PROC_CGROUPS,
    mountinfo: HYBRID,
    nsswitch: 'hosts: files dns\n',
    processes: [],
    sysctl: {
      'ipv4/conf/all/rp_filter': '0',
      'ipv4/conf/tun0/rp_filter': '0',
      'ipv6/conf/all/disable_ipv6': '0',
    },
    ifInet6: '00000000000000000000000000000001 01 80 10 80 lo\n',
    ipTablesNames: '',
    ip6TablesNames: '',
    probe: {},
    chains: [],
    libnftnl: { file: '/usr/lib/libnftnl.so.11.6.0' },
  };
  const config = parseConfig(
    'profiles:\n  u:\n    classid: 42\n    dns: { redirect: 5354 }\n  v:\n    classid: 43\n    route: { via: tun0 }\n  w:\n    match: cgroupv2\n    ipv6: reject\n',
    'c.yaml',
  );

  it('exits 0 on a good host, 1 with a warning, 2 with an error', () => {
    expect(exitCode(runDoctor({ ...base, config }))).toBe(0);
    expect(
      exitCode(runDoctor({ ...base, config, sysctl: { ...base.sysctl, 'ipv4/conf/tun0/rp_filter': '1' } })),
    ).toBe(1);
    expect(exitCode(runDoctor({ ...base, config, kernelRelease: '5.10.0' }))).toBe(2);
    expect(exitCode(runDoctor({ ...base, configError: 'bad' }))).toBe(2);
  });

  it('every warning and error carries a fix', () => {
    const f = runDoctor({
      ...base,
      config,
      kernelRelease: '5.4.0',
      procCgroups: NO_NET_CLS,
      nsswitch: 'hosts: resolve dns',
      ipTablesNames: 'filter',
      probe: { socketCgroupv2: 'EOPNOTSUPP' },
    });
    const bad = f.filter((x) => x.level === 'warn' || x.level === 'error');
    expect(bad.length).toBeGreaterThanOrEqual(4);
    for (const x of bad) expect(x.fix, x.check).toBeTruthy();
  });
});
