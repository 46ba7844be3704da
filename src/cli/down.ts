import type { Command } from 'commander';
import { out as pc } from './colors.js';

import { down } from '../apply.js';
import { loadConfig } from '../config/index.js';
import { configPath, printJson, withBackend } from './common.js';

export function register(program: Command): void {
  program
    .command('down')
    .summary('remove everything netcg created')
    .description(
      'Remove everything netcg created for the config: its nf_tables table, its ip rules and ' +
        "routes (those tagged with netcg's protocol number 110), and the profile cgroups that " +
        'have no members left. Every other table, rule and route stays exactly as it was.',
    )
    .option('-c, --config <file>', 'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml)')
    .option('--backend <name>', 'netlink (default) or nft', 'netlink')
    .option('--netns <path>', 'act inside this network namespace')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  netcg down -c /etc/netcg/config.yaml\n  netcg down -c test.yaml --netns /run/netns/lab\n  systemctl stop netcg                 runs netcg down (contrib/systemd/netcg.service)\n\n' +
        'Processes still in a profile keep running; their cgroup is kept (and reported) until it is empty.\n\n' +
        'Exit status: 0 removed (or nothing was there), 1 error.',
    )
    .action((opts: { config?: string; backend: string; netns?: string; json?: boolean }) => {
      const config = loadConfig(configPath(opts.config));
      const r = withBackend(opts.backend, opts.netns, (b) => down(config, b));
      if (opts.json) {
        printJson({ ok: true, ...r });
        return;
      }
      const out = [
        `${pc.green('down')}: table inet ${r.table.name} ${r.table.deleted ? 'deleted' : 'was not present'}`,
        `  ip rules removed: ${r.ipRules.length}, routes removed: ${r.routes.length}`,
        ...r.cgroups.map((c) => `  cgroup ${c.path}: ${c.action}${c.detail ? ` (${c.detail})` : ''}`),
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
