// Every config in examples/ is one a user can copy: it loads without an error.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/index.js';

const dir = fileURLToPath(new URL('../../examples', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('examples/', () => {
  it('holds one config per kind of profile', () => {
    expect(files).toEqual(
      expect.arrayContaining(['seed.yaml', 'offline.yaml', 'tor.yaml', 'bypass.yaml', 'service.yaml']),
    );
  });

  it.each(files)('%s loads', (f) => {
    const config = loadConfig(join(dir, f));
    expect(Object.keys(config.profiles).length).toBeGreaterThan(0);
  });
});
