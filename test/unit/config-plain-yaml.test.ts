// The fast reader of the plain YAML subset (src/config/plain-yaml.ts) against the
// `yaml` library: whatever it accepts, the library must read with no error into the
// very same object (same keys in the same order, same values and types). Anything it
// is unsure of it must give up on, so the library decides.
import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';

import { lineCounterOf, offsetOfPath, offsetOfPlainPath } from '../../src/config/locate.js';
import { readPlainYaml, readPlainYamlPlaces } from '../../src/config/plain-yaml.js';

/** What the loader's slow path sees: the library's errors and its JavaScript value. */
function library(text: string): { errors: string[]; value: unknown } {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  return { errors: doc.errors.map((e) => e.code), value: doc.contents === null ? undefined : doc.toJS({ maxAliasCount: 1000 }) };
}

/** Order-sensitive and type-sensitive: key order and number vs string both matter. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return [typeof value, value];
  expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  return Object.entries(value).map(([k, v]) => [k, canonical(v)]);
}

/** Every key path in a value, and beside each a path that is not there (as a missing key's issue has). */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [[...prefix, 'nothere']];
  return [
    prefix,
    [...prefix, 'nothere'],
    [...prefix, 'nothere', 'deeper'],
    ...Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]),
  ];
}

/** Issues located on the reader's places land where they land on the library's nodes. */
function locatesLikeLibrary(text: string): void {
  const read = readPlainYamlPlaces(text)!;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  expect(lineCounterOf(text).lineStarts, text).toEqual(lines.lineStarts);
  for (const path of pathsOf(read.value))
    for (const at of ['key', 'value'] as const)
      expect(offsetOfPlainPath(read.value, read.places, path, at), `${text}\n${path.join('.')} at ${at}`).toBe(offsetOfPath(doc, path, at));
}

/** The property: accepted means the library agrees exactly, also on where each key and value is. Returns whether it was accepted. */
function agreesWithLibrary(text: string): boolean {
  const fast = readPlainYaml(text);
  if (fast === undefined) return false;
  const { errors, value } = library(text);
  expect(errors, text).toEqual([]);
  expect(canonical(fast), text).toEqual(canonical(value));
  locatesLikeLibrary(text);
  return true;
}

// Pieces chosen to sit on every edge of the subset: core-schema look-alikes, indicators, quoting.
const KEYS = [
  'a', 'b', 'classid', 'p0', 'ok.name-1', '_x', 'a/b', 'constructor', 'toString', '__proto__', 'hasOwnProperty',
  '1', '42-vpn', '0x10', '1e3', '1.5', 'true', 'True', 'null', 'NULL', 'yes', 'on', 'y', '~', '-a', '.a', '+a',
  '"q"', "'q'", '"a b"', '"a"', "'it''s'", '"a\\tb"', '"é"', 'a b', 'a#b', "a'b", '? a', '&x a', '*x', '!!str a', '<<', '- a', '',
];
const VALUES = [
  '1', '0', '007', '42', '65535', '123456789012345', '1234567890123456', '12345678901234567890', '0x2a', '0X2a', '0xffffffff',
  '0x1234567890abcdef', '0o17', '1.5', '1.', '.5', '1e3', '1E3', '-1', '+1', '-0', '.inf', '-.inf', '.nan', '.NaN',
  '~', 'null', 'Null', 'NULL', 'nulL', 'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', 'yes', 'no', 'on', 'off',
  'tun0', 'reject', 'a/b', '/sys/fs', 'a.b', 'a-b', 'a+b', '_', 'a b', 'a:b', 'a: b', 'a#b', "a'b", 'a,b', 'a}b',
  '"x y"', '"x"', '""', "''", "'x'", "'it''s'", '"a\\tb"', '"a\\"b"', '"é"', '"a # b"', '"a: b"', '"{x}"', "'\"'",
  '{ a: 1 }', '{a: 1}', '{ a: 1, b: 2 }', '{ a: 1, }', '{ "a":1 }', '{ a:1 }', '{ a : 1 }', '{}', '{ }', '{ a: { b: c } }',
  '{ a }', '{ a: 1, a: 2 }', '{ a: 1 } x', '{ a: [1] }', '[1]', '[]', '&x 1', '*x', '!!str 1', '|', '>', '- a', '- ', '',
  '1 # c', '@x', '`x`', '%x', '? x', 'é', 'a\u00a0b',
];
/** Plain keys and values that are in the subset and read as strings (or as the numbers/booleans given). */
const SAFE_KEYS = ['a', 'b', 'c', 'classid', 'dns', 'p0', 'p1', 'ok.name-1', '_x', 'constructor', 'toString', '42-vpn', '"quoted key"', "'single'"];
const SAFE_SCALARS = ['1', '42', '0x2a', '0xffffffff', 'true', 'False', 'null', 'tun0', 'a/b', '"a b"', "'x'", '""', '"a # b"'];

const TRAILERS = ['', '', '', ' ', '  ', ' # comment', '# no space', ' #', '\t', ' é'];
const INDENTS = [0, 0, 0, 0, 2, 2, 4, 1, 3];

/** Mostly pieces inside the subset, so that lines combine into accepted documents often enough. */
const either = (safe: string[], edgy: string[]) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...safe) }, { weight: 1, arbitrary: fc.constantFrom(...edgy) });
const line = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.constantFrom(...INDENTS), either(SAFE_KEYS, KEYS), either([': '], [':', ' : ', ':  ']), either(SAFE_SCALARS, VALUES), fc.constantFrom(...TRAILERS))
      .map(([i, k, sep, v, t]) => `${' '.repeat(i)}${k}${sep}${v}${t}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '# comment', '  # indented comment', '---', '...', '%YAML 1.1', '- item', '  - item', 'key', '\u00a0a: 1', 'a: 1\r', 'a:', '  a:', '    a:') },
);

/** Line soup: mostly invalid or outside the subset; what is accepted must agree. */
const soup = fc.array(line, { minLength: 1, maxLength: 6 }).map((lines) => `${lines.join('\n')}\n`);

interface Tree {
  [key: string]: Tree | string;
}
const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc
    .uniqueArray(fc.tuple(fc.constantFrom(...SAFE_KEYS), fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SAFE_SCALARS) }, { weight: 1, arbitrary: tie('node') })), {
      minLength: 1,
      maxLength: 4,
      selector: ([k]) => k.replace(/^["']|["']$/g, ''),
    })
    .map((entries) => Object.fromEntries(entries) as Tree),
})).node;

/** Renders a tree as block YAML, each nested mapping either block or one-line flow. */
function renderBlock(node: Tree, indent: number, step: number, flowEvery: number, out: string[], counter: { n: number }): void {
  for (const [key, value] of Object.entries(node)) {
    const pad = ' '.repeat(indent);
    if (typeof value === 'string') out.push(`${pad}${key}: ${value}${counter.n++ % 3 === 0 ? '   # why' : ''}`);
    else if (counter.n++ % flowEvery === 0) out.push(`${pad}${key}: ${renderFlow(value)}`);
    else {
      out.push(`${pad}${key}:${counter.n % 2 === 0 ? ' # nested' : ''}`);
      if (counter.n % 4 === 0) out.push(`${pad}  # a comment line`, '');
      renderBlock(value, indent + step, step, flowEvery, out, counter);
    }
  }
}
function renderFlow(node: Tree): string {
  return `{ ${Object.entries(node)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : renderFlow(v)}`)
    .join(', ')} }`;
}

describe('readPlainYaml agrees with the yaml library', () => {
  it('on generated line soup: anything accepted is read identically and without error', () => {
    let accepted = 0;
    fc.assert(
      fc.property(soup, (text) => {
        if (agreesWithLibrary(text)) accepted++;
      }),
      { numRuns: 6000 },
    );
    // The soup is mostly outside the subset; some must still be accepted or the property says nothing.
    expect(accepted).toBeGreaterThan(100);
  });

  it('accepts every block/flow rendering of plain trees, reading them as the library does', () => {
    fc.assert(
      fc.property(tree, fc.constantFrom(1, 2, 4), fc.integer({ min: 1, max: 4 }), (t, step, flowEvery) => {
        const out: string[] = ['# a config'];
        renderBlock(t, 0, step, flowEvery, out, { n: 0 });
        const text = `${out.join('\n')}\n`;
        expect(agreesWithLibrary(text), text).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it('accepts JSON objects (any indentation), reading them as the library does', () => {
    const json = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
      value: fc.oneof(
        fc.constantFrom('tun0', 'a b', '', 'x:y', '#', 'null', 'true', '1', 'it\'s'),
        fc.nat({ max: 0xffffffff }),
        fc.boolean(),
        fc.constant(null),
        tie('object'),
      ),
      object: fc.dictionary(fc.constantFrom('a', 'b', 'classid', 'p0', 'with space', 'x:y', '1', 'true', ''), tie('value'), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(json.object, fc.constantFrom(undefined, 0, 1, 2), (obj, space) => {
        const text = JSON.stringify(obj, null, space);
        expect(agreesWithLibrary(text), text).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  it('gives up on JSON the subset leaves to the library (escapes, floats, negatives, arrays, duplicate keys)', () => {
    for (const text of ['{"a":"x\\ny"}', '{"a":1.5}', '{"a":-1}', '{"a":[1]}', '{"a":1,"a":2}', '{"a":1e3}', '{"__proto__":1}', '{"a":1}\n# c'])
      expect(readPlainYaml(text), text).toBeUndefined();
  });

  it('reads examples/seed.yaml as the library does', () => {
    expect(agreesWithLibrary(readFileSync('examples/seed.yaml', 'utf8'))).toBe(true);
  });

  it('gives up on duplicate keys, __proto__, and the empty document, which the library reports', () => {
    for (const text of ['a: 1\na: 2\n', 'a:\n  b: 1\n  b: 2\n', 'a: { b: 1, b: 2 }\n', 'a: 1\n"a": 2\n', '__proto__: 1\n', '', '# only\n', '\n\n'])
      expect(readPlainYaml(text), text).toBeUndefined();
  });
});
