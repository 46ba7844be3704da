import { Enroller, type EnrollResult } from '../../process/enroll.js';
import { printJson } from '../common.js';
import { configPath, type ConfigCommandOptions } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';
import { parsePids, printOutcomes } from './enroll.js';

export function action(pidArgs: string[], opts: ConfigCommandOptions): void {
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
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
}
