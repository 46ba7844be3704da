// Throwaway configs: every test gets its own nft table name and cgroupParent, so
// tests can run side by side and the cleanup knows exactly what is theirs.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findNetCls } from '../../src/cgroups/netcls.js';
import { uniqueName } from './netns.js';

export interface TempConfig {
  file: string;
  table: string;
  cgroupParent: string;
  /** Removes the file and any cgroups left under cgroupParent (moving stray tasks to the root first). */
  remove(): void;
}

/** The seed example with the test's unique table / cgroupParent, and `owner` dropped unless the host has that user. */
export function seedText(): string {
  return readFileSync(new URL('../../examples/seed.yaml', import.meta.url), 'utf8');
}

export function removeCgroupTree(parent: string): void {
  const root = findNetCls();
  if (!root) return;
  const dir = join(root, parent);
  if (!existsSync(dir)) return;
  const rootProcs = join(root, 'cgroup.procs');
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const child = join(dir, d.name);
    for (const pid of readFileSync(join(child, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        writeFileSync(rootProcs, `${pid}\n`);
      } catch {
        /* exited */
      }
    }
    rmdirSync(child);
  }
  rmdirSync(dir);
}

/** Writes `yamlBody` (without table/cgroupParent) to a temp file, adding unique table and cgroupParent keys. */
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
      removeCgroupTree(cgroupParent);
    },
  };
}
