import { existsSync } from 'node:fs';

import { loadConfig, type Config } from '../../config/index.js';
import { configTrust as configTrustOf } from '../../config/trust-fs.js';
import type { TrustFinding } from '../../config/trust.js';
import { doctorJson, exitCode, formatFindings, gatherInputs, runDoctor } from '../../doctor/index.js';
import { out as pc } from '../colors.js';
import { printJson } from '../common.js';
import { configPath } from '../options.js';

export async function action(opts: { config?: string; netns?: string; json?: boolean }): Promise<void> {
  const path = configPath(opts.config);
  let config: Config | undefined;
  let configError: string | undefined;
  let configTrust: TrustFinding[] | undefined;
  if (opts.config !== undefined || existsSync(path)) {
    if (process.geteuid?.() === 0) configTrust = configTrustOf(path);
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
    ...(configTrust ? { configTrust } : {}),
  });
  const findings = runDoctor(inputs);
  if (opts.json) printJson(doctorJson(findings));
  else process.stdout.write(formatFindings(findings, pc.isColorSupported));
  process.exitCode = exitCode(findings);
}
