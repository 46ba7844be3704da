import { runWatch } from '../../watch/daemon.js';
import { jsonLogger, textLogger } from '../../watch/log.js';
import { configPath } from '../options.js';

export async function action(opts: {
  config?: string;
  netns?: string;
  json?: boolean;
  debounce: number;
}): Promise<void> {
  await runWatch({
    configFile: configPath(opts.config),
    ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
    debounceMs: opts.debounce,
    log: opts.json ? jsonLogger() : textLogger(),
  });
  process.exitCode = 0;
}
