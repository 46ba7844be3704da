import { down } from '../../apply/apply.js';
import { out as pc } from '../colors.js';
import { printJson, withBackend } from '../common.js';
import { configPath, type KernelCommandOptions } from '../options.js';
import { requirePrivilege } from '../privilege.js';
import { loadTrustedConfig } from '../trusted-config.js';

export function action(opts: KernelCommandOptions): void {
  requirePrivilege('down', opts.netns);
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
  const r = withBackend(opts.backend, opts.netns, (b) => down(config, b));
  if (opts.json) {
    printJson({ ok: true, ...r });
    return;
  }
  const out = [
    `${pc.green('down')}: table inet ${r.table.name} ${r.table.deleted ? 'deleted' : 'was not present'}`,
    `  ip rules removed: ${r.ipRules.length}, routes removed: ${r.routes.length}`,
    ...r.cgroups.map((c) => `  cgroup ${c.path}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
