import type { Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption, jsonOption, netnsOption, trustConfigOption } from './options.js';

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
    .addOption(configOption())
    .addOption(trustConfigOption())
    .addOption(netnsOption('compare inside this network namespace'))
    .addOption(jsonOption('print the plan as JSON (schema: docs/diff-json.md)'))
    .addHelpText(
      'after',
      '\nExamples:\n  netcg diff -c /etc/netcg/config.yaml\n  netcg diff --json | jq .summary\n\nExit status: 0 nothing would change, 2 something would, 1 error.',
    )
    .action(lazy(() => import('./actions/diff.js')));
}
