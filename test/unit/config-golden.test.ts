// The loader behaves exactly as it did before its speed-ups (commit cb5a4bd: linear duplicate-key check, indexed locations): for
// every text in config-golden.json (the hand-written edge cases, examples/seed.yaml,
// and generated configs, valid and broken, in block YAML, flow YAML and JSON) it
// returns the same Config, or throws a ConfigError with the same issues (FILE:LINE:COL,
// key path, message) in the same order. config-golden.gen.mjs says how the file was made.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { parseConfig, type Config } from '../../src/config/index.js';
import { ConfigError, type ConfigIssue } from '../../src/shared/errors.js';

interface GoldenCase {
  text: string;
  config?: Config;
  issues?: ConfigIssue[];
  message?: string;
}

const cases = JSON.parse(
  readFileSync(new URL('./config-golden.json', import.meta.url), 'utf8'),
) as GoldenCase[];

function outcome(text: string): Omit<GoldenCase, 'text'> {
  try {
    return { config: parseConfig(text, 'netcg.yaml') };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { issues: err.issues, message: err.message };
  }
}

describe('the loader matches the recorded outcomes of the loader before its speed-ups', () => {
  it('has a corpus with both valid and broken configs', () => {
    expect(cases.filter((c) => c.config).length).toBeGreaterThan(100);
    expect(cases.filter((c) => c.issues).length).toBeGreaterThan(100);
  });

  it('gives the same Config or the same issues for every case', () => {
    for (const { text, ...expected } of cases) expect(outcome(text), text).toEqual(expected);
  });
});
