// What parseConfig reports for a bad config text, for the config unit tests.
import { expect } from 'vitest';

import { parseConfig } from '../../src/config/index.js';
import { ConfigError, type ConfigIssue } from '../../src/shared/errors.js';

export const FILE = 'netcg.yaml';

/** The issues parseConfig reports for `text` (fails the test if it does not throw a ConfigError). */
export function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

/** The one issue for `text`, checked for location and key path; returns its message. */
export function onlyIssue(text: string, line: number, col: number, path: string): string {
  const issues = issuesOf(text);
  expect(issues).toHaveLength(1);
  expect(issues[0]).toMatchObject({ file: FILE, line, col, path });
  return issues[0]!.message;
}
