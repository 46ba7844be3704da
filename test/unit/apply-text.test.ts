// Golden text of `netcg apply` for people (applyReportText): the plan it executed,
// then the cgroups, sysctls, matches and picked numbers, committed under __golden__/.
import { describe, expect, it } from 'vitest';

import type { ApplyReport } from '../../src/apply/apply.js';
import { compile } from '../../src/compile/index.js';
import { parseConfig } from '../../src/config/index.js';
import { applyReportText } from '../../src/cli/actions/apply.js';
import { plan, summarize } from '../../src/plan/plan.js';

const golden = (name: string) => `./__golden__/${name}`;

const config = parseConfig(
  'table: netcg\nprofiles:\n  unlocator:\n    classid: 42\n    dns: { redirect: 5354 }\n  vpn:\n    match: cgroupv2\n    route: { via: tun0 }\n',
  'apply.yaml',
);
const desired = compile(config, { linkRoutes: [], cgroups: { netCls: true, ids: { vpn: 4242n } } });
const executed = plan({ ipRules: [], routes: [] }, desired);

const REPORT: ApplyReport = {
  backend: 'netlink',
  plan: executed,
  summary: summarize(executed),
  changed: true,
  attempts: 2,
  table: { family: 'inet', name: 'netcg', maps: 3, chains: 6, rules: 7 },
  cgroups: [
    {
      profile: 'unlocator',
      path: '/sys/fs/cgroup/net_cls/netcg/unlocator',
      action: 'created',
      detail: 'classid 42',
    },
    { profile: 'vpn', path: '/sys/fs/cgroup/unified/netcg/vpn', action: 'created' },
    {
      profile: 'old',
      path: '/sys/fs/cgroup/net_cls/netcg/old',
      action: 'kept',
      detail: '1 process still in it',
    },
    { profile: 'same', path: '/sys/fs/cgroup/net_cls/netcg/same', action: 'unchanged' },
  ],
  matches: [
    {
      profile: 'unlocator',
      requested: 'auto',
      match: 'net_cls',
      cgroup: '/sys/fs/cgroup/net_cls/netcg/unlocator',
    },
    {
      profile: 'vpn',
      requested: 'cgroupv2',
      match: 'cgroupv2',
      cgroup: '/sys/fs/cgroup/unified/netcg/vpn',
      id: '4242',
    },
    {
      profile: 'backup',
      requested: 'cgroupv2',
      match: 'cgroupv2',
      cgroup: '/system.slice/backup.service',
      existing: [{ path: '/system.slice/backup.service', id: '777' }],
    },
    {
      profile: 'batch',
      requested: 'cgroupv2',
      match: 'cgroupv2',
      cgroup: '/system.slice/batch-*.service',
      existing: [],
      waiting: true,
    },
  ],
  netCls: { mountPoint: '/sys/fs/cgroup/net_cls', mountedNow: true },
  cgroup2: '/sys/fs/cgroup/unified',
  sysctls: [{ key: 'net.ipv4.conf.all.src_valid_mark', value: '1', previous: '0' }],
  numbers: config.profiles.vpn!.route
    ? [
        {
          profile: 'vpn',
          via: 'tun0',
          table: config.profiles.vpn!.route.table,
          mark: config.profiles.vpn!.route.mark,
        },
      ]
    : [],
  warnings: ['tun0 is down: the vpn profile gets the unreachable route until it is up'],
};

describe('netcg apply text (golden)', () => {
  it('prints the executed plan and everything else apply did', async () => {
    await expect(applyReportText(REPORT, '/etc/netcg/config.yaml', false)).toMatchFileSnapshot(
      golden('apply-changed.txt'),
    );
  });

  it('says so when nothing was sent', async () => {
    const none = plan({ table: desired.table, ipRules: desired.ipRules, routes: desired.routes }, desired);
    const text = applyReportText(
      {
        ...REPORT,
        plan: none,
        summary: summarize(none),
        changed: false,
        attempts: 1,
        cgroups: [],
        sysctls: [],
        warnings: [],
        netCls: { mountPoint: '/sys/fs/cgroup/net_cls', mountedNow: false },
      },
      '/etc/netcg/config.yaml',
      false,
    );
    await expect(text).toMatchFileSnapshot(golden('apply-unchanged.txt'));
  });
});
