// native/sources.txt is the one list of the addon's sources (binding.gyp and
// native/CMakeLists.txt read it): it must name every .cc under native/ except the
// fuzz programs, and nothing that is not there.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function ccFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fuzz' ? [] : ccFiles(path);
    return e.name.endsWith('.cc') ? [relative(root, path)] : [];
  });
}

describe('native/sources.txt', () => {
  const listed = readFileSync(join(root, 'native/sources.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('lists every addon source under native/ once, and only those', () => {
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(ccFiles(join(root, 'native')).sort());
  });

  it('is what binding.gyp and CMakeLists.txt build from', () => {
    expect(readFileSync(join(root, 'binding.gyp'), 'utf8')).toContain('native/sources.txt');
    expect(readFileSync(join(root, 'native/CMakeLists.txt'), 'utf8')).toContain('sources.txt');
  });
});
