// `netcg completion bash|zsh`: a completion script generated from commander's own
// description of the commands (actions/completion.ts), so a new command or option
// completes without touching either file.
import { Option, type Command } from 'commander';

import { lazy } from './lazy.js';
import { configOption } from './options.js';

export function register(program: Command): void {
  program
    .command('completion')
    .summary('print a shell completion script (bash or zsh)')
    .description(
      "Print a script that teaches bash or zsh to complete netcg: commands, each command's options, " +
        'option values (--format, --backend, --netns namespaces, files for -c), and profile names for ' +
        'run, enroll and ps, read from the config given with -c on the command line (else the default) ' +
        'each time you press Tab.',
    )
    .argument('[shell]', 'bash or zsh')
    .addOption(configOption('with --list-profiles'))
    .addOption(
      new Option(
        '--list-profiles',
        "print the config's profile names, one a line (used by the script)",
      ).hideHelp(),
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  source <(netcg completion bash)                          in ~/.bashrc\n' +
        '  netcg completion bash > /etc/bash_completion.d/netcg     for every user\n' +
        '  source <(netcg completion zsh)                           in ~/.zshrc\n\n' +
        'Exit status: 0 printed, 1 unknown shell.',
    )
    .action(lazy(() => import('./actions/completion.js')));
}
