import type { Command } from 'commander';

import { diff, pickedNumbers } from '../apply.js';
import { loadConfig } from '../config/index.js';
import { formatPlan, planToJson } from '../plan/format.js';
import { isEmptyPlan } from '../plan/plan.js';
import { out as pc } from './colors.js';
import { configPath, printJson, withBackend } from './common.js';

export function register(program: Command): void {
  program
    .command('diff')
    .summary('show what apply would change')
    .description(
      "Read netcg's objects back from the kernel (its table, its ip rules and routes), compare " +
        'them with the config, and print the plan `netcg apply` would execute, like `terraform plan`: ' +
        'one line per object, + added, - destroyed, ~ changed (re-created). Changes made out of band ' +
        "(a rule deleted by hand, a rule added to netcg's table, a route removed) show up here and " +
        'the next apply repairs them. Nothing is changed.',
    )
    .option('-c, --config <file>', 'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml)')
    .option('--netns <path>', 'compare inside this network namespace')
    .option('--json', 'print the plan as JSON (schema: docs/diff-json.md)')
    .addHelpText(
      'after',
      '\nExamples:\n  netcg diff -c /etc/netcg/config.yaml\n  netcg diff --json | jq .summary\n\nExit status: 0 nothing would change, 2 something would, 1 error.',
    )
    .action((opts: { config?: string; netns?: string; json?: boolean }) => {
      const config = loadConfig(configPath(opts.config));
      const { plan, config: compared } = withBackend('netlink', opts.netns, (b) => diff(config, b));
      const numbers = pickedNumbers(compared);
      if (opts.json) printJson({ ...planToJson(plan), numbers });
      else {
        for (const n of numbers)
          process.stdout.write(
            pc.dim(
              `# profile ${n.profile}: routing table ${n.table}, mark 0x${n.mark.toString(16)} (picked by netcg)\n`,
            ),
          );
        process.stdout.write(formatPlan(plan, { color: pc.isColorSupported }));
      }
      process.exitCode = isEmptyPlan(plan) ? 0 : 2;
    });
}
