// `netcg --help` and every command's help read like a manual page: a description,
// examples and exit statuses, from the built CLI (needs `npm run build:ts`).
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { cliOk, runCli } from '../helpers/cli.js';

const commands = (): string[] => {
  const top = cliOk(['--help']).stdout;
  const section = top.slice(top.indexOf('Commands:'), top.indexOf('\nDescription:'));
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
};

describe('netcg help', () => {
  it('the top-level help has description, examples, files, environment, exit status, see also', () => {
    const top = cliOk(['--help']).stdout;
    for (const heading of [
      'Usage: netcg',
      'Commands:',
      'Description:',
      'Examples:',
      'Files:',
      'Environment:',
      'Exit status:',
      'See also:',
    ])
      expect(top).toContain(heading);
    expect(commands()).toEqual(
      expect.arrayContaining([
        'apply',
        'diff',
        'run',
        'ps',
        'down',
        'enroll',
        'leave',
        'export',
        'completion',
      ]),
    );
  });

  it("every command's help has examples that use it and its exit status", () => {
    for (const cmd of commands()) {
      const text = cliOk(['help', cmd]).stdout;
      expect(text, cmd).toContain(`Usage: netcg ${cmd}`);
      expect(text, cmd).toMatch(new RegExp(`Examples:\\n(.*\\n)*? {2}.*netcg ${cmd}\\b`));
      expect(text, cmd).toMatch(/Exit status: .*\d/);
    }
  });

  it('--version prints the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(cliOk(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('--help, --version, help CMD and completion never load the addon; commands do', () => {
    // An addon path that cannot load: any command that touches the addon fails with it.
    const env = { ...process.env, NETCG_ADDON: '/nonexistent/netcg.node' };
    for (const args of [
      ['--help'],
      ['--version'],
      ['help', 'apply'],
      ['run', '--help'],
      ['completion', 'bash'],
    ])
      expect(runCli(args, { env }).code, args.join(' ')).toBe(0);
    const apply = runCli(['apply', '-c', 'examples/seed.yaml'], { env });
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('/nonexistent/netcg.node');
  });
});
