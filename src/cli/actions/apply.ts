import pico from 'picocolors';

import { apply, type ApplyReport, type ProfileMatch } from '../../apply/apply.js';
import { formatPlan, planToJson } from '../../plan/format.js';
import { out } from '../colors.js';
import { printJson, withBackend } from '../common.js';
import { configPath, type KernelCommandOptions } from '../options.js';
import { requirePrivilege } from '../privilege.js';
import { loadTrustedConfig } from '../trusted-config.js';

/** An existing-cgroup profile's line: the cgroups it matches in place, or that it waits for one. */
function existingText(m: Pick<ProfileMatch, 'cgroup' | 'existing'>): string {
  const found = m.existing ?? [];
  if (found.length === 0)
    return `waiting: no cgroup matches ${m.cgroup} yet (everything else is installed; netcg watch adds it when it appears)`;
  return `matched in place by cgroup v2 ID (socket cgroupv2) · ${found.map((e) => `${e.path} (ID ${e.id})`).join(', ')}`;
}

/** What `netcg apply` prints for people: the plan it executed, then what else it did; ends with a newline. */
export function applyReportText(r: ApplyReport, file: string, color: boolean): string {
  const pc = pico.createColors(color);
  const out: string[] = [];
  if (!r.changed) {
    out.push(`${pc.green('no changes')}: the kernel already matches ${file} (nothing was sent)`);
  } else {
    out.push(formatPlan(r.plan, { color }).trimEnd());
    const { add, change, destroy } = r.summary;
    out.push(
      `${pc.green('applied')} ${file} with the ${r.backend} backend: ${add} added, ${change} changed, ${destroy} destroyed`,
    );
  }
  out.push(
    `  table inet ${r.table.name}: ${r.table.maps} maps, ${r.table.chains} chains, ${r.table.rules} rules`,
  );
  if (r.attempts > 1) out.push(`  re-planned ${r.attempts - 1} time(s): nf_tables changed while applying`);
  if (r.netCls?.mountedNow) out.push(`  mounted the net_cls cgroup hierarchy at ${r.netCls.mountPoint}`);
  for (const m of r.matches) {
    if (m.existing) {
      out.push(`  profile ${m.profile}: ${existingText(m)}`);
      continue;
    }
    const how =
      m.match === 'net_cls'
        ? 'net_cls classid (meta cgroup)'
        : `cgroup v2 ID ${m.id ?? '?'} (socket cgroupv2)`;
    out.push(
      `  profile ${m.profile}: matched by ${how}${m.requested === 'auto' ? ', chosen by match: auto' : ''} · ${m.cgroup}`,
    );
  }
  for (const n of r.numbers)
    out.push(
      `  profile ${n.profile}: routing table ${n.table}, mark 0x${n.mark.toString(16)} (picked by netcg)`,
    );
  for (const s of r.sysctls) out.push(`  sysctl ${s.key} = ${s.value} (was ${s.previous})`);
  for (const c of r.cgroups)
    if (c.action !== 'unchanged')
      out.push(`  cgroup ${c.path}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`);
  for (const w of r.warnings) out.push(`  ${pc.yellow('warning:')} ${w}`);
  return `${out.join('\n')}\n`;
}

export function action(opts: KernelCommandOptions): void {
  requirePrivilege('apply', opts.netns);
  const file = configPath(opts.config);
  const { config, trustOverridden } = loadTrustedConfig(file, opts.trustConfig);
  const report = withBackend(opts.backend, opts.netns, (b) => apply(config, b));
  if (opts.json) {
    const { plan, ...rest } = report;
    printJson({
      ok: true,
      config: file,
      ...(trustOverridden.length > 0 ? { trustOverridden } : {}),
      ...rest,
      plan: planToJson(plan),
    });
  } else process.stdout.write(applyReportText(report, file, out.isColorSupported));
}
