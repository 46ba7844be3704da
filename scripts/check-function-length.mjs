#!/usr/bin/env node
// Fails when a C++ function body in native/ is longer than the limit (default 80
// lines, counted like biome's noExcessiveLinesPerFunction counts TypeScript: the
// lines from the opening brace to the closing one). A function may be longer when
// the comment right above it says why, with a line containing
// `function-length: <reason>` (a table, a template).
//
// The scan is lexical: it strips comments, strings and character literals, then
// tracks braces. A brace opens a function body when the code before it (since the
// previous `;`, `{` or `}`) ends in `)` plus optional qualifiers (const, noexcept,
// override, a trailing return type, a constructor's initializer list) and does not
// start with a control keyword. Lambdas count as part of their enclosing function.
//
//   node scripts/check-function-length.mjs [--max N] [--list] [files or dirs...]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
let max = 80;
let list = false;
const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--max') max = Number(args[++i]);
  else if (args[i] === '--list') list = true;
  else roots.push(args[i]);
}
if (roots.length === 0) roots.push('native');

const SOURCE = /\.(cc|cpp|h|hpp)$/;
const SKIP = new Set(['fuzz', 'corpus']);

function files(path) {
  if (statSync(path).isFile()) return SOURCE.test(path) ? [path] : [];
  return readdirSync(path)
    .filter((e) => !SKIP.has(e))
    .flatMap((e) => files(join(path, e)));
}

/** The text with comments, strings and char literals blanked (newlines kept, so line numbers hold). */
function strip(text) {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    const n = text[i + 1];
    if (c === '/' && n === '/') {
      while (i < text.length && text[i] !== '\n') (out += ' '), i++;
    } else if (c === '/' && n === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      for (; i < stop; i++) out += text[i] === '\n' ? '\n' : ' ';
    } else if (c === 'R' && n === '"') {
      const m = /^R"([^(\s]*)\(/.exec(text.slice(i));
      const close = m ? text.indexOf(`)${m[1]}"`, i) : -1;
      const stop = m && close >= 0 ? close + m[1].length + 2 : i + 2;
      for (; i < stop; i++) out += text[i] === '\n' ? '\n' : ' ';
    } else if (c === '"' || (c === "'" && !/[0-9A-Fa-f]/.test(text[i - 1] ?? ''))) {
      out += ' ';
      i++;
      while (i < text.length && text[i] !== c && text[i] !== '\n') {
        if (text[i] === '\\') (out += ' '), i++;
        out += ' ';
        i++;
      }
      out += ' ';
      i++;
    } else if (c === '#' && /(^|\n)[ \t]*$/.test(text.slice(Math.max(0, i - 200), i))) {
      // Preprocessor line (and its continuations).
      while (i < text.length && !(text[i] === '\n' && text[i - 1] !== '\\')) {
        out += text[i] === '\n' ? '\n' : ' ';
        i++;
      }
    } else (out += c), i++;
  }
  return out;
}

const CONTROL = /^(if|for|while|switch|catch|do|else|return|case)\b/;
const HEAD_END = /\)\s*(const\s*)?(noexcept\s*(\([^)]*\))?\s*)?(override\s*|final\s*)*(->\s*[\w:<>,\s*&]+)?$/;
const INIT_LIST = /\)\s*:\s*[\w:]+\s*[({][\s\S]*[)}]\s*$/;

function functionsOf(code) {
  const found = [];
  const stack = []; // entries: { fn: boolean, line, name }
  let headStart = 0;
  const lineAt = (idx) => code.slice(0, idx).split('\n').length;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === ';') headStart = i + 1;
    else if (c === '{') {
      const head = code.slice(headStart, i).trim().replace(/\s+/g, ' ');
      const insideFn = stack.some((s) => s.fn);
      const isFn =
        !insideFn &&
        !CONTROL.test(head) &&
        !/^(namespace|struct|class|union|enum|extern)\b/.test(head) &&
        !/=\s*$/.test(head) &&
        (HEAD_END.test(head) || INIT_LIST.test(head));
      const name = isFn ? (/([\w:~]+)\s*\(/.exec(head)?.[1] ?? '?') : '';
      stack.push({ fn: isFn, line: lineAt(i), name });
      headStart = i + 1;
    } else if (c === '}') {
      const open = stack.pop();
      if (open?.fn) found.push({ name: open.name, start: open.line, end: lineAt(i) });
      headStart = i + 1;
    }
  }
  return found;
}

/** Whether the comment lines right above `line` (1-based) say why the function may be long. */
function excused(lines, line) {
  for (let i = line - 2; i >= 0; i--) {
    const l = lines[i].trim();
    if (l.includes('function-length:')) return true;
    if (
      !(l.startsWith('//') || l.startsWith('*') || l.startsWith('/*') || l.startsWith('template') || l === '')
    )
      return false;
  }
  return false;
}

let failed = 0;
const all = [];
for (const root of roots) {
  for (const file of files(root)) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    for (const f of functionsOf(strip(text))) {
      const length = f.end - f.start + 1;
      all.push({ file: relative(process.cwd(), file), ...f, length });
      // The signature may span lines: look for the excuse above the line the head starts on.
      let headLine = f.start;
      while (headLine > 1 && !/^\S/.test(lines[headLine - 1] ?? '')) headLine--;
      if (length > max && !excused(lines, headLine)) {
        console.error(
          `${relative(process.cwd(), file)}:${f.start}: ${f.name} is ${length} lines (max ${max})`,
        );
        failed++;
      }
    }
  }
}
if (list)
  for (const f of all.sort((a, b) => b.length - a.length).slice(0, 15))
    console.log(`${String(f.length).padStart(4)}  ${f.file}:${f.start} ${f.name}`);
if (failed > 0) {
  console.error(
    `${failed} function(s) over ${max} lines; split them into named steps, or say why above them (// function-length: reason)`,
  );
  process.exit(1);
}
