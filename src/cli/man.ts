// Manual pages (roff, man macros) for netcg and each of its commands, written from
// the same commander definitions --help prints: the usage line, description,
// arguments and options through commander's own Help (so defaults and choices
// read the same), and the sections of the text each command adds after its help
// (Examples:, Exit status:, Files:, ...). scripts/gen-man.mjs writes them into
// man/ when the package is packed; package.json's "man" lists them.
import type { EventEmitter } from 'node:events';

import type { Command, Help } from 'commander';

export interface ManPage {
  /** File name, e.g. netcg-apply.1 */
  readonly file: string;
  readonly text: string;
}

/** Headings of the help's closing text that become man sections of their own. */
const SECTIONS: Readonly<Record<string, string>> = {
  Description: 'DESCRIPTION',
  Examples: 'EXAMPLES',
  Files: 'FILES',
  Environment: 'ENVIRONMENT',
  'Exit status': 'EXIT STATUS',
  'See also': 'SEE ALSO',
};
const PROSE = new Set(['DESCRIPTION', 'EXIT STATUS', 'SEE ALSO']);
const ORDER = [
  'DESCRIPTION',
  'ARGUMENTS',
  'OPTIONS',
  'COMMANDS',
  'EXIT STATUS',
  'ENVIRONMENT',
  'FILES',
  'EXAMPLES',
  'SEE ALSO',
];

/** Text as roff input: escapes, `code` in bold, non-ASCII as \[uXXXX]; lines as they are. */
function roffEscape(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    .replace(
      /[^\x00-\x7f]/gu,
      (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`,
    );
}

/** A text line that roff must not take for a request. */
function textLine(line: string): string {
  return /^[.']/.test(line) ? `\\&${line}` : line;
}

function roff(text: string): string {
  return roffEscape(text).split('\n').map(textLine).join('\n');
}

/** Filled text: one sentence a line, long sentences broken at spaces (80 columns). */
function filled(text: string): string[] {
  const out: string[] = [];
  for (const sentence of roffEscape(text.replace(/\s*\n\s*/g, ' ').trim()).split(
    /(?<=[a-z0-9)][.;:]) +(?=[A-Z`(\\])/,
  )) {
    let line = '';
    for (const word of sentence.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > 79) out.push(textLine(line)), (line = word);
      else line = line === '' ? word : `${line} ${word}`;
    }
    if (line !== '') out.push(textLine(line));
  }
  return out;
}

/** An option or argument term: flags in bold, <value> in italics. */
function term(text: string): string {
  return roff(text)
    .replace(/(\\-(?:\\-)?[A-Za-z0-9][\w\\-]*)/g, '\\fB$1\\fR')
    .replace(/([<[][^>\]]+[>\]])/g, '\\fI$1\\fR');
}

/** Prose paragraphs (blank-line separated) as filled .PP paragraphs. */
function prose(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .filter((p) => p.trim() !== '')
    .flatMap((p) => ['.PP', ...filled(p)]);
}

/** Indented lines (examples, file lists) kept as they are. */
function literal(lines: readonly string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return ['.PP', '.RS 4', '.nf', ...lines.map((l) => roff(l.slice(indent)) || '.sp'), '.fi', '.RE'];
}

/** The closing help text split at its headings: section name -> roff lines. */
function closingSections(after: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  const add = (name: string, lines: string[]) =>
    sections.set(name, [...(sections.get(name) ?? []), ...lines]);
  for (const block of after.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l, i, all) => l.trim() !== '' || (i > 0 && i < all.length - 1));
    if (lines.length === 0) continue;
    const head = /^([A-Z][^:]*):(?:\s+(.*))?$/.exec(lines[0]!);
    const known = head ? SECTIONS[head[1]!] : undefined;
    const body = head ? [...(head[2] ? [head[2]] : []), ...lines.slice(1)] : lines;
    // Indented lines are kept as lines (examples, file lists, log lines), except in
    // sections of prose (the top-level Description: is indented text).
    const indented = body.every((l) => l.startsWith('  ') || l.trim() === '');
    const rendered = indented && !PROSE.has(known ?? '') ? literal(body) : prose(body.join('\n'));
    if (known) add(known, rendered);
    // A heading of its own (watch's "Log lines", "Unit") or none: more description.
    else add('DESCRIPTION', head ? ['.SS', roff(head[1]!), ...rendered.slice(1)] : rendered);
  }
  return sections;
}

function afterHelpText(cmd: Command): string {
  // addHelpText('after', …) registers an afterHelp listener that writes through the context.
  let text = '';
  (cmd as unknown as EventEmitter).emit('afterHelp', {
    error: false,
    command: cmd,
    write: (s: string) => (text += s),
  });
  return text;
}

function items(entries: ReadonlyArray<readonly [string, string]>): string[] {
  return entries.flatMap(([t, d]) => ['.TP', term(t), ...filled(d)]);
}

function header(title: string, version: string, date: string): string[] {
  return [
    `.\\" Generated by scripts/gen-man.mjs from netcg's --help text (src/cli). Do not edit.`,
    `.TH ${title.toUpperCase()} 1 ${date} "netcg ${version}" "netcg manual"`,
  ];
}

function page(
  cmd: Command,
  help: Help,
  name: string,
  summary: string,
  seeAlso: ReadonlyArray<readonly [string, number]>,
): string[] {
  const sections = closingSections(afterHelpText(cmd));
  const description = [...prose(help.commandDescription(cmd)), ...(sections.get('DESCRIPTION') ?? [])];
  sections.set('DESCRIPTION', description);
  const args = help
    .visibleArguments(cmd)
    .map((a) => [help.argumentTerm(a), help.argumentDescription(a)] as const);
  if (args.length > 0) sections.set('ARGUMENTS', items(args));
  sections.set(
    'OPTIONS',
    items(help.visibleOptions(cmd).map((o) => [help.optionTerm(o), help.optionDescription(o)] as const)),
  );
  const commands = help
    .visibleCommands(cmd)
    .map((c) => [help.subcommandTerm(c), help.subcommandDescription(c)] as const);
  if (commands.length > 0) sections.set('COMMANDS', items(commands));
  const refs = seeAlso.map(([n, sec], i) => `.BR ${roff(n)} (${sec})${i < seeAlso.length - 1 ? ',' : ''}`);
  sections.set('SEE ALSO', [...(sections.get('SEE ALSO') ?? []), '.PP', ...refs]);
  const usage = help.commandUsage(cmd);
  const words = usage.split(' ');
  const command = words.slice(0, name === 'netcg' ? 1 : 2).join(' ');
  return [
    '.SH NAME',
    ...filled(`${name} - ${summary}`),
    '.SH SYNOPSIS',
    `.B ${roff(command)}`,
    term(usage.slice(command.length).trim()),
    // A section's first paragraph needs no .PP.
    ...ORDER.flatMap((s) =>
      sections.has(s) ? [`.SH ${s}`, ...sections.get(s)!.filter((l, i) => i > 0 || l !== '.PP')] : [],
    ),
  ];
}

/** netcg.1 and netcg-COMMAND.1 for every command but `help`. `date`: YYYY-MM-DD for .TH. */
export function manPages(program: Command, version: string, date: string): ManPage[] {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).filter((c) => c.name() !== 'help');
  const pageName = (c: Command) => `netcg-${c.name()}`;
  const firstSentence = /^(.*?)\.(\s|$)/.exec(program.description())?.[1] ?? program.name();
  const top: ManPage = {
    file: 'netcg.1',
    text: [
      ...header('netcg', version, date),
      ...page(
        program,
        help,
        'netcg',
        firstSentence.replace(/^./, (c) => c.toLowerCase()),
        [...commands.map((c) => [pageName(c), 1] as const), ['nft', 8], ['ip-rule', 8], ['ip-route', 8]],
      ),
    ].join('\n'),
  };
  const pages = commands.map((c) => ({
    file: `${pageName(c)}.1`,
    text: [
      ...header(pageName(c), version, date),
      ...page(c, help, pageName(c), c.summary(), [['netcg', 1]]),
    ].join('\n'),
  }));
  return [top, ...pages].map((p) => ({ file: p.file, text: `${p.text}\n` }));
}
