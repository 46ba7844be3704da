// Maps a key path (as zod and validate.ts report it) back to a position in the
// YAML source, so every issue reads like a compiler diagnostic: FILE:LINE:COL.
import {
  type LineCounter,
  isMap,
  isPair,
  isScalar,
  isSeq,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

function startOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** A `key:` with nothing after it: its value has no text to point at, so point at the key. */
function isEmptyValue(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.source === '';
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Each mapping's pairs by key text (the first pair with a text wins, as a search
 * from the start would find it), built on first use: a config with 10,000 issues
 * among 10,000 profiles looks each one up in constant time, not by a linear search.
 */
const pairsByKey = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = pairsByKey.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const text = keyText(pair.key);
      if (!index.has(text)) index.set(text, pair);
    }
    pairsByKey.set(map, index);
  }
  return index.get(key);
}

/** Whether a node's text ends in a value left empty (`key:` with nothing after it), however deep. */
function endsEmpty(node: unknown): boolean {
  if (isEmptyValue(node)) return true;
  if (isMap(node) || isSeq(node)) {
    const last = node.items.at(-1);
    return last !== undefined && endsEmpty(isPair(last) ? last.value : last);
  }
  return false;
}

/**
 * The start of every key equal to an earlier key of its mapping, in document order:
 * where the `yaml` library's duplicate-key check (uniqueKeys) reports them, found in
 * linear rather than quadratic time. Keys are equal as the library compares them:
 * scalars with the same value (===, so NaN never repeats); other keys never.
 * Undefined when the library may report one elsewhere than at its key: an empty key,
 * or one right after a `key:` with no value, however deeply nested (it reports where
 * that value would have been).
 */
export function repeatedKeys(doc: Document): number[] | undefined {
  const offsets: number[] = [];
  let unsure = false;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      map.items.forEach((pair, i) => {
        if (!isScalar(pair.key) || Number.isNaN(pair.key.value)) return;
        if (!seen.has(pair.key.value)) {
          seen.add(pair.key.value);
          return;
        }
        if (isEmptyValue(pair.key) || (i > 0 && endsEmpty(map.items[i - 1]!.value))) unsure = true;
        offsets.push(startOf(pair.key) ?? 0);
      });
      return unsure ? visit.BREAK : undefined;
    },
  });
  return unsure ? undefined : offsets.sort((a, b) => a - b);
}

/**
 * The offset an issue at `path` should point at: the value, or with at='key' the key
 * itself. A missing key points at its parent's key (where it should have been written).
 */
export function offsetOfPath(doc: Document, path: readonly string[], at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = pairOf(node, segment);
    if (!pair) return startOf(keyNode) ?? startOf(node) ?? 0;
    keyNode = pair.key;
    node = pair.value;
  }
  if (at === 'key' || isEmptyValue(node) || node === null) return startOf(keyNode) ?? startOf(node) ?? 0;
  return startOf(node) ?? startOf(keyNode) ?? 0;
}

/** The key path of the innermost key whose pair contains `offset` (for YAML syntax errors). */
export function pathAtOffset(doc: Document, offset: number): string[] {
  const path: string[] = [];
  let node: unknown = doc.contents;
  while (isMap(node)) {
    // A pair's range runs on over the blank lines after its value, up to the next
    // key, so the pair whose key starts right at `offset` wins (a duplicate key is
    // reported there; it used to be named after the previous pair's last key).
    const pair =
      node.items.find((p) => startOf(p.key) === offset) ??
      node.items.find((p) => {
        const start = startOf(p.key);
        const end = (p.value as Node | null)?.range?.[2] ?? (p.key as Node | null)?.range?.[2];
        return start !== undefined && end !== undefined && start <= offset && offset <= end;
      });
    if (!pair) break;
    path.push(keyText(pair.key));
    node = pair.value;
  }
  return path;
}

export function lineCol(lineCounter: LineCounter, offset: number): { line: number; col: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}
