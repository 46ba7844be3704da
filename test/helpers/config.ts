// Throwaway configs: every test gets its own nft table name and cgroupParent, so
// tests can run side by side and the cleanup knows exactly what is theirs.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { removeCgroupParent } from '../testbed/cgroups.js';
import { uniqueName } from './netns.js';

export interface TempConfig {
  file: string;
  table: string;
  cgroupParent: string;
  /** Removes the file, any cgroups left under cgroupParent (moving stray tasks to the root first) and what `netcg run` remembered of it. */
  remove(): void;
}

export function seedText(): string {
  return readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8');
}

/** Removes what `netcg run` (as root) remembered of configs with this cgroupParent (src/cli/config-memo.ts). */
function forgetRemembered(cgroupParent: string): void {
  const dir = '/run/netcg/config-cache';
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      if (readFileSync(join(dir, name), 'utf8').includes(`"cgroupParent":"${cgroupParent}"`))
        rmSync(join(dir, name), { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/** Writes `yamlBody` to a temp file with its table/cgroupParent replaced by unique names. */
export function tempConfig(yamlBody: string, prefix = 'nc'): TempConfig {
  const table = uniqueName(`${prefix}t`);
  const cgroupParent = uniqueName(`${prefix}cg`);
  const dir = mkdtempSync(join(tmpdir(), 'netcg-test-'));
  const file = join(dir, 'netcg.yaml');
  const body = yamlBody.replace(/^(table|cgroupParent):.*\n/gm, '');
  writeFileSync(file, `table: ${table}\ncgroupParent: ${cgroupParent}\n${body}`);
  return {
    file,
    table,
    cgroupParent,
    remove() {
      rmSync(dir, { recursive: true, force: true });
      removeCgroupParent(cgroupParent);
      forgetRemembered(cgroupParent);
    },
  };
}
