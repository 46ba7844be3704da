// A doctor finding: one line saying what is wrong (or fine) and, when something
// is, the fix. Exit status: 0 all good, 1 warnings, 2 errors.

export type Level = 'ok' | 'info' | 'warn' | 'error';

export interface Finding {
  /** Stable check name (docs/doctor-json.md), e.g. `nftables`, `rp_filter`. */
  check: string;
  level: Level;
  /** One line: what was found. */
  message: string;
  /** One line: what to do; present for warn and error. */
  fix?: string;
}

export const ok = (check: string, message: string): Finding => ({ check, level: 'ok', message });
export const info = (check: string, message: string): Finding => ({ check, level: 'info', message });
export const warn = (check: string, message: string, fix: string): Finding => ({
  check,
  level: 'warn',
  message,
  fix,
});
export const error = (check: string, message: string, fix: string): Finding => ({
  check,
  level: 'error',
  message,
  fix,
});

export function exitCode(findings: readonly Finding[]): 0 | 1 | 2 {
  if (findings.some((f) => f.level === 'error')) return 2;
  if (findings.some((f) => f.level === 'warn')) return 1;
  return 0;
}
