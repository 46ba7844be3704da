// The man pages (src/cli/man.ts, written into man/ by scripts/gen-man.mjs when the
// package is packed): generated here into a temporary directory from the same
// commander definitions, then compared with what the built CLI's --help prints,
// checked against package.json's "man" list, and linted by groff and mandoc.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { manPages, type ManPage } from '../../src/cli/man.js';
import { createProgram } from '../../src/cli/program.js';
import { cliOk } from '../helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  man: string[];
};

/** A roff line as plain text (what a reader sees, unfilled). */
const plain = (line: string) =>
  line
    .replace(/\\f[BIR]/g, '')
    .replace(/\\\[u([0-9A-F]{4,})\]/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replaceAll('\\-', '-')
    .replaceAll('\\e', '\\')
    .replace(/^\\&/, '');
const words = (text: string) => text.replace(/`/g, '').replace(/\s+/g, ' ').trim();

/** `name -> description` of every item of a --help list section (Options:, Arguments:). */
function helpItems(help: string, heading: string): Map<string, string> {
  const items = new Map<string, string>();
  const start = help.indexOf(`\n${heading}\n`);
  if (start < 0) return items;
  let last = '';
  for (const line of help.slice(start + heading.length + 2).split('\n')) {
    if (!line.startsWith('  ')) break;
    const m = /^ {2}(\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (m) items.set((last = m[1]!), m[2] ?? '');
    else items.set(last, `${items.get(last)} ${line.trim()}`);
  }
  return new Map([...items].map(([k, v]) => [k, words(v)]));
}

/** The same from a man page's section: .TP, term line, description lines. */
function manItems(page: string, section: string): Map<string, string> {
  const body = page.split(`\n.SH ${section}\n`)[1]?.split('\n.SH ')[0] ?? '';
  const items = new Map<string, string>();
  for (const item of body.split('.TP\n').slice(1)) {
    const [term, ...desc] = item.trim().split('\n');
    items.set(plain(term!), words(desc.map(plain).join(' ')));
  }
  return items;
}

const commandNames = (): string[] => {
  const top = cliOk(['--help']).stdout;
  return [...helpItems(top, 'Commands:').keys()].map((t) => t.split(' ')[0]!).filter((c) => c !== 'help');
};

describe('man pages', () => {
  let pages: ManPage[];
  let dir: string;
  const text = (file: string) => pages.find((p) => p.file === file)?.text ?? '';

  beforeAll(() => {
    pages = manPages(createProgram(), pkg.version, '2025-01-01');
    dir = mkdtempSync(join(tmpdir(), 'netcg-man-'));
    for (const p of pages) writeFileSync(join(dir, p.file), p.text);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one page per command and netcg.1, exactly the files package.json "man" installs', () => {
    const expected = ['netcg.1', ...commandNames().map((c) => `netcg-${c}.1`)];
    expect(pages.map((p) => p.file).sort()).toEqual([...expected].sort());
    expect([...pkg.man].sort()).toEqual(expected.map((f) => `man/${f}`).sort());
  });

  it("each command's page has its --help options, arguments, examples and exit status", () => {
    for (const cmd of commandNames()) {
      const help = cliOk(['help', cmd]).stdout;
      const page = text(`netcg-${cmd}.1`);
      expect(page, cmd).toMatch(
        new RegExp(`^\\.TH NETCG-${cmd.toUpperCase()} 1 2025-01-01 "netcg ${pkg.version}"`, 'm'),
      );
      for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO'])
        expect(page, `${cmd}: ${s}`).toContain(`\n.SH ${s}\n`);
      expect(manItems(page, 'OPTIONS'), cmd).toEqual(helpItems(help, 'Options:'));
      expect(manItems(page, 'ARGUMENTS'), cmd).toEqual(helpItems(help, 'Arguments:'));
      const plainPage = page.split('\n').map(plain).join('\n');
      const examples = help.split('\nExamples:\n')[1]!.split('\n\n')[0]!.split('\n');
      for (const line of examples) expect(plainPage, cmd).toContain(line.trim().replace(/`/g, ''));
      const exit = words(help.split('\nExit status: ')[1]!.split('\n\n')[0]!);
      expect(
        words(page.split('\n.SH EXIT STATUS\n')[1]!.split('\n.SH ')[0]!.split('\n').map(plain).join(' ')),
      ).toBe(exit);
    }
  });

  it('netcg.1 lists every command, the global options and a page for each command', () => {
    const top = cliOk(['--help']).stdout;
    const page = text('netcg.1');
    expect(manItems(page, 'OPTIONS')).toEqual(helpItems(top, 'Options:'));
    expect(manItems(page, 'COMMANDS')).toEqual(helpItems(top, 'Commands:'));
    for (const cmd of commandNames()) expect(page).toContain(`.BR netcg\\-${cmd} (1)`);
    for (const s of ['EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES'])
      expect(page).toContain(`\n.SH ${s}\n`);
  });

  it('groff and mandoc render every page without a warning', () => {
    for (const p of pages) {
      const file = join(dir, p.file);
      const groff = spawnSync('groff', ['-ww', '-z', '-man', file], { encoding: 'utf8' });
      expect(groff.error, 'groff (Debian: groff-base) is needed').toBeUndefined();
      expect({ file: p.file, code: groff.status, out: groff.stderr }).toEqual({
        file: p.file,
        code: 0,
        out: '',
      });
      const mandoc = spawnSync('mandoc', ['-T', 'lint', '-W', 'style', file], { encoding: 'utf8' });
      expect(mandoc.error, 'mandoc (Debian: mandoc) is needed').toBeUndefined();
      expect({ file: p.file, code: mandoc.status, out: mandoc.stdout + mandoc.stderr }).toEqual({
        file: p.file,
        code: 0,
        out: '',
      });
    }
  });
});
