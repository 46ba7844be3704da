// repeatedKeys (src/config/locate.ts) replaces the `yaml` library's quadratic
// duplicate-key check; the loader trusts it to report exactly what the library
// would, where it would, in the same order, whenever duplicates are the only errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

import { repeatedKeys } from '../../src/config/locate.js';

const KEYS = [
  'a',
  'a',
  'b',
  'b',
  '"a"',
  "'a'",
  '1',
  '01',
  '0x1',
  '1.0',
  'true',
  'True',
  'null',
  '~',
  '',
  '.nan',
  '.NaN',
  '&x a',
  '!!str a',
  '!!str 1',
  '*x',
  '? a',
  '[a]',
  '{a: 1}',
  '<<',
];
const VALUES = [
  '1',
  'x',
  '',
  '{ a: 1, a: 2 }',
  '{ a: 1, b: 2 }',
  '{ "a": 1, a: 2 }',
  '[a, a]',
  '&x v',
  '*x',
  '"q"',
];
const INDENTS = [0, 0, 0, 2, 2, 4];

const line = fc
  .tuple(
    fc.constantFrom(...INDENTS),
    fc.constantFrom(...KEYS),
    fc.constantFrom(...VALUES),
    fc.constantFrom('', '', ' # c'),
  )
  .map(
    ([i, k, v, c]) =>
      `${' '.repeat(i)}${k.startsWith('? ') ? `${k}\n${' '.repeat(i)}:` : `${k}:`}${v ? ` ${v}` : ''}${c}`,
  );
const text = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: line },
      { weight: 1, arbitrary: fc.constantFrom('# comment', '', '- a', 'x: [a: 1, a: 2]') },
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((ls) => `${ls.join('\n')}\n`);

describe('repeatedKeys finds what the yaml library reports as DUPLICATE_KEY', () => {
  it('the same offsets in the same order, when duplicates are the only errors', () => {
    let withDuplicates = 0;
    fc.assert(
      fc.property(text, (t) => {
        const loose = parseDocument(t, { uniqueKeys: false });
        if (loose.errors.length > 0) return; // the loader asks the library itself then
        const strict = parseDocument(t, { uniqueKeys: true });
        expect(
          strict.errors.every((e) => e.code === 'DUPLICATE_KEY'),
          t,
        ).toBe(true);
        const offsets = repeatedKeys(loose);
        if (offsets === undefined) {
          // Unsure (the loader asks the library then); it must at least be a document with duplicates.
          expect(strict.errors.length, t).toBeGreaterThan(0);
          return;
        }
        expect(offsets, t).toEqual(strict.errors.map((e) => e.pos[0]));
        if (offsets.length > 0) withDuplicates++;
      }),
      { numRuns: 5000 },
    );
    expect(withDuplicates).toBeGreaterThan(200);
  });

  it('examples: none without repeats, NaN keys never repeat (NaN !== NaN), nested and top-level repeats in order, unsure after an empty value', () => {
    expect(repeatedKeys(parseDocument('a: 1\nb: { c: 1, d: 2 }\n'))).toEqual([]);
    expect(repeatedKeys(parseDocument('.nan: 1\n.nan: 2\n', { uniqueKeys: false }))).toEqual([]);
    expect(repeatedKeys(parseDocument('a: 1\nb:\n  a: 1\n  a: 2\na: 3\n', { uniqueKeys: false }))).toEqual([
      17, 22,
    ]);
    // After `a:` with no value the library reports the next duplicate where that value would be: left to the library.
    expect(repeatedKeys(parseDocument('a:\na: 1\n', { uniqueKeys: false }))).toBeUndefined();
  });
});
