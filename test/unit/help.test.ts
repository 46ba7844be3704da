// `netcg --help` and every command's help read like a manual page: a description,
// examples and exit statuses, from the built CLI (needs `npm run build:ts`).
import { describe, expect, it } from 'vitest';

import { cliOk } from '../helpers/cli.js';

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
});
