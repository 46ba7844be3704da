// The config trust check as every command that reads a config runs it first: as
// root, a config someone other than root can change is refused (EUNTRUSTEDCONFIG;
// docs/config.md#who-may-shape-the-config); with --trust-config it is used anyway,
// with one warning line per finding. Light: fs only (`netcg run` starts with it).
import { checkConfigTrust } from '../config/trust-fs.js';
import type { TrustFinding } from '../config/trust.js';
import { err as pc } from './colors.js';

/** Refuses an untrusted `file`, or (with --trust-config) warns and returns the findings. */
export function checkTrust(file: string, trustConfig: boolean | undefined): TrustFinding[] {
  const findings = checkConfigTrust(file, trustConfig === true);
  for (const f of findings)
    process.stderr.write(
      `${pc.yellow(pc.bold('netcg: warning:'))} --trust-config: using ${file} although ${f.message} (fix: ${f.fix})\n`,
    );
  return findings;
}
