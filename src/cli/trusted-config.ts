// Loading the config the way every command that uses it does: the trust check
// first (as root, a config someone other than root can change is refused,
// EUNTRUSTEDCONFIG; docs/config.md#who-may-shape-the-config), then loadConfig.
import { loadConfig, type Config } from '../config/index.js';
import { checkConfigTrust } from '../config/trust-fs.js';
import type { TrustFinding } from '../config/trust.js';
import { err as pc } from './colors.js';

/**
 * The config at `file`, after the trust check. With --trust-config it is used
 * anyway: one warning line per finding on stderr, and the findings are returned
 * (for --json: `trustOverridden`).
 */
export function loadTrustedConfig(
  file: string,
  trustConfig: boolean | undefined,
): { config: Config; trustOverridden: TrustFinding[] } {
  const trustOverridden = checkConfigTrust(file, trustConfig === true);
  for (const f of trustOverridden)
    process.stderr.write(
      `${pc.yellow(pc.bold('netcg: warning:'))} --trust-config: using ${file} although ${f.message} (fix: ${f.fix})\n`,
    );
  return { config: loadConfig(file), trustOverridden };
}
