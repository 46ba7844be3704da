import { joinAndExec } from '../../process/exec.js';
import { configPath } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';

export function action(
  profile: string,
  command: string[],
  opts: { config?: string; trustConfig?: boolean },
): void {
  // With pass-through options commander keeps the `--` separator; it is ours, not the command's.
  const argv = command[0] === '--' ? command.slice(1) : command;
  joinAndExec(loadTrustedConfig(configPath(opts.config), opts.trustConfig).config, profile, argv);
}
