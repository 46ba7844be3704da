import type { Command } from 'commander';

import { loadConfig } from '../config/index.js';
import { Enroller, type EnrollResult } from '../enroll.js';
import { configPath, printJson } from './common.js';
import { parsePids, printOutcomes } from './enroll.js';

export function register(program: Command): void {
  program
    .command('leave')
    .summary('move processes out of their profile')
    .description(
      "Move processes out of the config's profiles, back to the root of each cgroup hierarchy " +
        'they were enrolled in (a program using the library instead returns them to where it ' +
        'found them). Each PID succeeds or fails on its own; a PID in no profile is an error.',
    )
    .argument('<pid...>', 'process IDs')
    .option('-c, --config <file>', 'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml)')
    .option('--json', 'print the outcomes as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  netcg leave 4242\n  netcg leave $(pgrep firefox) --json\n\nExit status: 0 when every PID left its profile, 1 when any did not.',
    )
    .action((pidArgs: string[], opts: { config?: string; json?: boolean }) => {
      const config = loadConfig(configPath(opts.config));
      const pids = parsePids(pidArgs);
      const enroller = new Enroller(config);
      let results: EnrollResult[];
      try {
        results = enroller.leave(pids);
      } finally {
        enroller.close();
      }
      const ok = results.every((r) => r.ok);
      process.exitCode = ok ? 0 : 1;
      if (opts.json) printJson({ ok, results });
      else printOutcomes('left', results);
    });
}
