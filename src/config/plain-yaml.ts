// A fast reader for the plain subset of YAML that config files are written in:
// block mappings, one-line flow mappings (`dns: { redirect: 5354 }`), a document
// that is one JSON object, plain and simply quoted scalars, comments.
//
// Why: the `yaml` library needs ~0.6 s for a 10,000-profile file, building a
// syntax tree and a document with source ranges that only matter when there is an
// error to point at. This reads the same file in a few milliseconds.
//
// It gives up (returns undefined) on anything outside the subset: anchors, tags,
// sequences, block scalars, escapes, multi-line plain scalars, non-ASCII scalars,
// numbers other than unsigned decimal and 0x hex, non-string keys, duplicate keys,
// "__proto__". The caller then uses the `yaml` library, which also reports the
// errors. So whatever this accepts it must read exactly as `yaml` (YAML 1.2, core
// schema) reads it, with no error, and the offsets it notes for locating issues
// must be those of the library's nodes: test/unit/config-plain-yaml.test.ts checks
// both against the library on generated documents.

/** Thrown to abandon the fast read; never escapes this module. */
const OUTSIDE_SUBSET = new Error('outside the plain YAML subset');

function giveUp(): never {
  throw OUTSIDE_SUBSET;
}

const NL = 10;
const SPACE = 32;
const DOUBLE_QUOTE = 34;
const HASH = 35;
const SINGLE_QUOTE = 39;
const COLON = 58;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** Characters of a plain scalar here: A-Z a-z 0-9 _ . / + - (none is special to YAML inside a scalar). */
function isPlainChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 47 || c === 43 || c === 45
  );
}

/** A plain scalar may start with these; '.', '+', '-' are left to the library (".inf", "-1", "- item"). */
function isPlainStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 47;
}

// The YAML 1.2 core schema's tags, as the `yaml` library tests them.
const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const TRUE_RE = /^(?:[Tt]rue|TRUE)$/;
const FALSE_RE = /^(?:[Ff]alse|FALSE)$/;
/** Up to 15 digits is exact in a double, so Number() equals the library's parseInt(). */
const DECIMAL_RE = /^[0-9]{1,15}$/;
const HEX_RE = /^0x[0-9a-fA-F]{1,12}$/;
/** Any other number the core schema knows (signed, octal, long, float, inf, nan): left to the library. */
const OTHER_NUMBER_RE =
  /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

/** The value of a plain scalar (which starts with A-Z a-z 0-9 _ /) under the core schema. */
function resolvePlain(token: string): unknown {
  const first = token.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    // Only a token starting with a digit can be a number here (the others start with . + -).
    if (DECIMAL_RE.test(token)) return Number(token);
    if (HEX_RE.test(token)) return Number.parseInt(token.slice(2), 16);
    if (OTHER_NUMBER_RE.test(token)) giveUp();
    return token;
  }
  // null, true and false in their three spellings; anything else is a string.
  if (first === 110 || first === 78) return NULL_RE.test(token) ? null : token; // n N
  if (first === 116 || first === 84) return TRUE_RE.test(token) ? true : token; // t T
  if (first === 102 || first === 70) return FALSE_RE.test(token) ? false : token; // f F
  return token;
}

/** Sets a key the way the library's toJS does (an inherited name such as "constructor" becomes an own property). */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (!(key in target)) {
    target[key] = value;
    return;
  }
  if (Object.hasOwn(target, key)) giveUp(); // a duplicate: the library reports it
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Longest key read here; the library limits implicit keys to 1024 characters. */
const MAX_KEY_LENGTH = 256;

/** Where a key and its value start in the text; `value` is undefined for `key:` with nothing after it. */
export interface KeyPlace {
  key: number;
  value: number | undefined;
}

/**
 * Source offsets of the mappings a read produced (only asked for when there are
 * issues to locate): where each mapping starts (its first key, or its '{') and
 * where each of its keys and values start, as the library's node ranges have them.
 */
export interface PlainPlaces {
  mapStart: WeakMap<object, number>;
  keys: WeakMap<object, Map<string, KeyPlace>>;
}

class PlainReader {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly places?: PlainPlaces,
  ) {}

  private placeMap(map: object, start: number): Map<string, KeyPlace> | undefined {
    if (!this.places) return undefined;
    const keys = new Map<string, KeyPlace>();
    this.places.mapStart.set(map, start);
    this.places.keys.set(map, keys);
    return keys;
  }

  /** The character code at the read position, or -1 at the end. */
  private at(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  /** The whole document: one block mapping at column 0, or one flow mapping (JSON). */
  document(): Record<string, unknown> {
    const indent = this.nextContentLine();
    if (indent !== 0) giveUp(); // empty, or indented: left to the library
    let result: Record<string, unknown>;
    if (this.at() === OPEN_BRACE) {
      result = this.flowMap(true);
      while (this.at() === SPACE || this.at() === NL) this.pos++;
      if (this.pos !== this.text.length) giveUp();
    } else {
      result = this.blockMap(0);
      if (this.nextContentLine() !== -1) giveUp();
    }
    return result;
  }

  /**
   * From a line start, skips blank and comment lines; leaves pos at the start of the
   * next line with content and returns its indentation, or -1 at the end.
   */
  private nextContentLine(): number {
    const { text } = this;
    for (;;) {
      if (this.pos >= text.length) return -1;
      let i = this.pos;
      while (text.charCodeAt(i) === SPACE) i++;
      const c = i < text.length ? text.charCodeAt(i) : -1;
      if (c === -1) {
        this.pos = text.length;
        return -1;
      }
      if (c !== NL && c !== HASH) return i - this.pos;
      const eol = text.indexOf('\n', i);
      this.pos = eol === -1 ? text.length : eol + 1;
    }
  }

  /** After a value: spaces, then the end of the line, optionally a comment after at least one space. */
  private endOfLine(): void {
    const start = this.pos;
    while (this.at() === SPACE) this.pos++;
    const c = this.at();
    if (c === -1) return;
    if (c === NL) {
      this.pos++;
      return;
    }
    if (c !== HASH || this.pos === start) giveUp();
    this.skipRestOfLine();
  }

  private skipRestOfLine(): void {
    const eol = this.text.indexOf('\n', this.pos);
    this.pos = eol === -1 ? this.text.length : eol + 1;
  }

  private blockMap(indent: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    const places = this.placeMap(result, this.pos + indent);
    for (;;) {
      this.pos += indent;
      const keyStart = this.pos;
      const key = this.key();
      let valueStart: number | undefined;
      if (this.at() !== COLON) giveUp();
      this.pos++;
      let value: unknown;
      let nested = false;
      if (this.at() === -1 || this.at() === NL) nested = true;
      else if (this.at() !== SPACE) giveUp();
      else {
        while (this.at() === SPACE) this.pos++;
        const c = this.at();
        if (c === -1 || c === NL || c === HASH) nested = true;
        else {
          valueStart = this.pos;
          value = this.inlineValue(false);
          this.endOfLine();
        }
      }
      if (nested) {
        this.skipRestOfLine(); // nothing, or a comment after a space
        const childIndent = this.nextContentLine();
        if (childIndent > indent) {
          valueStart = this.pos + childIndent;
          value = this.blockMap(childIndent);
        } else value = null;
      }
      setKey(result, key, value);
      places?.set(key, { key: keyStart, value: valueStart });
      const next = this.nextContentLine();
      if (next < indent) return result; // the end, or the parent's next key
      if (next > indent) giveUp(); // a continued plain scalar, or bad indentation: the library decides
    }
  }

  /** `{ key: value, ... }`; `multiLine` only for a whole-document flow mapping. */
  private flowMap(multiLine: boolean): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    const places = this.placeMap(result, this.pos);
    this.pos++; // '{'
    this.flowSpace(multiLine);
    if (this.at() === CLOSE_BRACE) {
      this.pos++;
      return result;
    }
    for (;;) {
      const keyStart = this.pos;
      const quoted = this.at() === DOUBLE_QUOTE || this.at() === SINGLE_QUOTE;
      const key = this.key();
      if (this.at() !== COLON) giveUp();
      this.pos++;
      // After a plain key the ':' must be followed by a space; after a quoted (JSON-like) key it need not.
      if (!quoted && this.at() !== SPACE) giveUp();
      this.flowSpace(multiLine);
      const valueStart = this.pos;
      setKey(result, key, this.inlineValue(multiLine));
      places?.set(key, { key: keyStart, value: valueStart });
      this.flowSpace(multiLine);
      const c = this.at();
      this.pos++;
      if (c === CLOSE_BRACE) return result;
      if (c !== COMMA) giveUp();
      this.flowSpace(multiLine);
      if (this.at() === CLOSE_BRACE) giveUp(); // a trailing comma
    }
  }

  private flowSpace(multiLine: boolean): void {
    for (;;) {
      const c = this.at();
      if (c === SPACE || (multiLine && c === NL)) this.pos++;
      else return;
    }
  }

  /** A value after `key: `: a flow mapping, a quoted string or a plain scalar. */
  private inlineValue(multiLine: boolean): unknown {
    const c = this.at();
    if (c === OPEN_BRACE) return this.flowMap(multiLine);
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) return this.quoted();
    return resolvePlain(this.plainToken());
  }

  /** A mapping key: a plain scalar that reads as a string, or a quoted string. */
  private key(): string {
    const c = this.at();
    let key: string;
    if (c === DOUBLE_QUOTE || c === SINGLE_QUOTE) key = this.quoted();
    else {
      const value = resolvePlain(this.plainToken());
      if (typeof value !== 'string') giveUp(); // null, true, 42 as keys: left to the library
      key = value;
    }
    if (key === '__proto__' || key.length > MAX_KEY_LENGTH) giveUp();
    return key;
  }

  private plainToken(): string {
    const start = this.pos;
    if (!isPlainStart(this.at())) giveUp();
    this.pos++;
    while (isPlainChar(this.at())) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** A one-line quoted string of printable ASCII without escapes ('' or backslash). */
  private quoted(): string {
    const quote = this.at();
    const start = this.pos + 1;
    const end = this.text.indexOf(quote === DOUBLE_QUOTE ? '"' : "'", start);
    if (end === -1) giveUp();
    for (let i = start; i < end; i++) {
      const c = this.text.charCodeAt(i);
      if (c < SPACE || c > 126 || c === 92) giveUp(); // control, non-ASCII, backslash
    }
    this.pos = end + 1;
    if (quote === SINGLE_QUOTE && this.at() === SINGLE_QUOTE) giveUp(); // '' is an escaped quote
    return this.text.slice(start, end);
  }
}

/**
 * The document as the `yaml` library's `parseDocument(text).toJS()` gives it, if
 * `text` is in the plain subset and has no YAML error; otherwise undefined.
 */
export function readPlainYaml(text: string): Record<string, unknown> | undefined {
  return read(text, undefined);
}

/** readPlainYaml, also giving where its keys and values are in the text (for locating issues). */
export function readPlainYamlPlaces(text: string): { value: Record<string, unknown>; places: PlainPlaces } | undefined {
  const places: PlainPlaces = { mapStart: new WeakMap(), keys: new WeakMap() };
  const value = read(text, places);
  return value && { value, places };
}

function read(text: string, places: PlainPlaces | undefined): Record<string, unknown> | undefined {
  // Tabs, carriage returns and a byte-order mark each have YAML rules of their own.
  if (text.includes('\t') || text.includes('\r') || text.charCodeAt(0) === 0xfeff) return undefined;
  try {
    return new PlainReader(text, places).document();
  } catch (err) {
    if (err === OUTSIDE_SUBSET) return undefined;
    throw err;
  }
}
