import { loadConfig } from '../../config/index.js';
import { Enroller, type EnrollResult } from '../../process/enroll.js';
import { printJson } from '../common.js';
import { configPath } from '../options.js';
import { parsePids, printOutcomes } from './enroll.js';

export function action(pidArgs: string[], opts: { config?: string; json?: boolean }): void {
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
}
