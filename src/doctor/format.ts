// Doctor's output: one line per finding, the fix indented below it; and the JSON
// form (docs/doctor-json.md).
import pc from 'picocolors';

import { exitCode, type Finding } from './finding.js';

/** Bumped on any incompatible change to doctorJson's output. */
export const DOCTOR_JSON_VERSION = 1;

export function formatFindings(findings: readonly Finding[], color: boolean): string {
  const c = pc.createColors(color);
  const mark = {
    ok: c.green('ok   '),
    info: c.cyan('info '),
    warn: c.yellow('WARN '),
    error: c.red('ERROR'),
  } as const;
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${mark[f.level]} ${c.bold(f.check)}: ${f.message}`);
    if (f.fix) lines.push(`      ${c.dim('fix:')} ${f.fix}`);
  }
  const count = (l: Finding['level']) => findings.filter((f) => f.level === l).length;
  const errors = count('error');
  const warnings = count('warn');
  lines.push(
    '',
    errors + warnings === 0
      ? c.green('All good.')
      : `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`,
  );
  return `${lines.join('\n')}\n`;
}

export function doctorJson(findings: readonly Finding[]): {
  version: number;
  status: 'ok' | 'warn' | 'error';
  exitCode: number;
  findings: Finding[];
} {
  const code = exitCode(findings);
  return {
    version: DOCTOR_JSON_VERSION,
    status: code === 0 ? 'ok' : code === 1 ? 'warn' : 'error',
    exitCode: code,
    findings: [...findings],
  };
}
