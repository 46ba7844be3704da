// Maps a key path (as zod and validate.ts report it) back to a position in the
// YAML source, so every issue reads like a compiler diagnostic: FILE:LINE:COL.
import { isMap, isScalar, type Document, type LineCounter, type Node } from 'yaml';

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
 * The offset an issue at `path` should point at: the value, or with at='key' the key
 * itself. A missing key points at its parent's key (where it should have been written).
 */
export function offsetOfPath(doc: Document, path: readonly string[], at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let keyNode: unknown = undefined;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => keyText(p.key) === segment);
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
