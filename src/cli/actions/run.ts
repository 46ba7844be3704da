import { loadConfig } from '../../config/index.js';
import { joinAndExec } from '../../process/exec.js';
import { configPath } from '../options.js';

export function action(profile: string, command: string[], opts: { config?: string }): void {
  // With pass-through options commander keeps the `--` separator; it is ours, not the command's.
  const argv = command[0] === '--' ? command.slice(1) : command;
  joinAndExec(loadConfig(configPath(opts.config)), profile, argv);
}
