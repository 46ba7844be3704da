// Writes the man pages (man/netcg.1, man/netcg-COMMAND.1) from the built CLI's
// commander definitions (dist/, so run `npm run build:ts` first; `npm pack` does
// both in prepack). The pages are not committed: package.json's "man" lists them,
// and test/unit/man.test.ts checks the list, the text against --help, and the roff.
// The date is $SOURCE_DATE_EPOCH's, else today's.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const dist = (file) => new URL(`dist/cli/${file}`, root).href;
const { createProgram } = await import(dist('program.js'));
const { manPages } = await import(dist('man.js'));

const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const epoch = process.env.SOURCE_DATE_EPOCH;
const date = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().slice(0, 10);

const dir = new URL('man/', root);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const pages = manPages(createProgram(), version, date);
for (const { file, text } of pages) writeFileSync(new URL(file, dir), text);
console.error(`netcg man: ${pages.length} pages in man/`);
