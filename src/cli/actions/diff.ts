import { diff, pickedNumbers, waitingProfiles } from '../../apply/apply.js';
import { formatPlan, planToJson } from '../../plan/format.js';
import { isEmptyPlan } from '../../plan/plan.js';
import { out as pc } from '../colors.js';
import { printJson, withBackend } from '../common.js';
import { configPath, type KernelCommandOptions } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';

export function action(opts: Omit<KernelCommandOptions, 'backend'>): void {
  const { config, trustOverridden } = loadTrustedConfig(configPath(opts.config), opts.trustConfig);
  const result = withBackend('netlink', opts.netns, (b) => diff(config, b));
  const { plan, config: compared } = result;
  const numbers = pickedNumbers(compared);
  const waiting = waitingProfiles(result);
  if (opts.json)
    printJson({
      ...planToJson(plan),
      numbers,
      waiting,
      ...(trustOverridden.length > 0 ? { trustOverridden } : {}),
    });
  else {
    for (const w of waiting)
      process.stdout.write(
        pc.dim(`# profile ${w.profile}: waiting, no cgroup matches ${w.cgroup} yet (no map element)\n`),
      );
    for (const n of numbers)
      process.stdout.write(
        pc.dim(
          `# profile ${n.profile}: routing table ${n.table}, mark 0x${n.mark.toString(16)} (picked by netcg)
`,
        ),
      );
    process.stdout.write(formatPlan(plan, { color: pc.isColorSupported }));
  }
  process.exitCode = isEmptyPlan(plan) ? 0 : 2;
}
