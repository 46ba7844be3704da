import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { loadConfig, type Config } from '../config/index.js';
import { doctorJson, exitCode, formatFindings, gatherInputs, runDoctor } from '../doctor/index.js';
import { out as pc } from './colors.js';
import { configPath, printJson } from './common.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .summary('check the host for what would stop netcg from working')
    .description(
      'Check the host and the config against each other and explain every finding in one line, with ' +
        'the fix: nf_tables and `socket cgroupv2` (a probe table created and deleted in one transaction), ' +
        'net_cls and cgroup2 and their mounts, the pre-5.15 kernel bug that breaks cgroup v2 matching ' +
        "when net_cls is used too, rp_filter/src_valid_mark on VPN profiles' interfaces, IPv6 being off " +
        'while the config relies on it, resolvers that bypass port 53 (nss-resolve, DNS-over-HTTPS ' +
        "clients), iptables-legacy tables, other tables' output chains that run before netcg's, and the " +
        'libnftnl the addon loaded. Nothing is changed (the probe table never outlives its transaction).',
    )
    .option(
      '-c, --config <file>',
      'config file (default: $NETCG_CONFIG, then /etc/netcg/config.yaml; none: host checks only)',
    )
    .option('--netns <path>', 'check inside this network namespace')
    .option('--json', 'print the findings as JSON (schema: docs/doctor-json.md)')
    .addHelpText(
      'after',
      '\nExamples:\n  netcg doctor\n  netcg doctor -c netcg.yaml --netns /run/netns/vpn\n  netcg doctor --json | jq \'.findings[] | select(.level != "ok")\'\n\nExit status: 0 all good, 1 warnings, 2 errors.',
    )
    .action(async (opts: { config?: string; netns?: string; json?: boolean }) => {
      const path = configPath(opts.config);
      let config: Config | undefined;
      let configError: string | undefined;
      if (opts.config !== undefined || existsSync(path)) {
        try {
          config = loadConfig(path);
        } catch (err) {
          configError = (err as Error).message.replace(/\n/g, '; ');
        }
      }
      const inputs = await gatherInputs({
        ...(opts.netns ? { netns: opts.netns } : {}),
        ...(config ? { config } : {}),
        ...(configError ? { configError } : {}),
      });
      const findings = runDoctor(inputs);
      if (opts.json) printJson(doctorJson(findings));
      else process.stdout.write(formatFindings(findings, pc.isColorSupported));
      process.exitCode = exitCode(findings);
    });
}
