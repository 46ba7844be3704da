import { joinAndExec } from '../../process/exec.js';
import { loadConfigRemembered } from '../config-memo.js';
import { configPath } from '../options.js';
import { requireProfileAccess } from '../privilege.js';
import { checkTrust } from '../trust-check.js';

export async function action(
  profile: string,
  command: string[],
  opts: { config?: string; trustConfig?: boolean },
): Promise<void> {
  // With pass-through options commander keeps the `--` separator; it is ours, not the command's.
  const argv = command[0] === '--' ? command.slice(1) : command;
  const file = configPath(opts.config);
  checkTrust(file, opts.trustConfig);
  const config = await loadConfigRemembered(file);
  requireProfileAccess(config, profile);
  joinAndExec(config, profile, argv);
}
