import { runWatch, WatchFatalError } from '../../watch/daemon.js';
import { jsonLogger, textLogger } from '../../watch/log.js';
import { configPath } from '../options.js';
import { requirePrivilege } from '../privilege.js';

export async function action(opts: {
  config?: string;
  trustConfig?: boolean;
  netns?: string;
  json?: boolean;
  debounce: number;
}): Promise<void> {
  requirePrivilege('watch', opts.netns);
  try {
    await runWatch({
      configFile: configPath(opts.config),
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      debounceMs: opts.debounce,
      ...(opts.trustConfig ? { trustConfig: true } : {}),
      log: opts.json ? jsonLogger() : textLogger(),
    });
  } catch (err) {
    if (!(err instanceof WatchFatalError)) throw err;
    // Already logged (a `fatal` record). Exit now: whatever is left open must not
    // keep a daemon that stopped repairing alive, nor end it as Node's status 13.
    process.exit(err.exitStatus);
  }
  process.exitCode = 0;
}
