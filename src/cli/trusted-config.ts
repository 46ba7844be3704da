// Loading the config the way every command that uses it does: the trust check
// first (trust-check.ts), then loadConfig.
import { loadConfig, type Config } from '../config/index.js';
import type { TrustFinding } from '../config/trust.js';
import { checkTrust } from './trust-check.js';

/**
 * The config at `file`, after the trust check. With --trust-config it is used
 * anyway: one warning line per finding on stderr, and the findings are returned
 * (for --json: `trustOverridden`).
 */
export function loadTrustedConfig(
  file: string,
  trustConfig: boolean | undefined,
): { config: Config; trustOverridden: TrustFinding[] } {
  const trustOverridden = checkTrust(file, trustConfig);
  return { config: loadConfig(file), trustOverridden };
}
