// Existing cgroups (`cgroup:` profiles: a systemd service or scope matched in
// place): which cgroups a pattern matches now, with their IDs, read from the
// cgroup2 hierarchy. netcg only reads here: it never creates, chowns or removes
// these cgroups. A pattern's wildcards stay within one component, so the walk is
// one level per component: a literal is one lstat, a wildcard one readdir.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { cgroupPathParts, globMatch, isGlob } from '../config/cgroup-path.js';
import type { CgroupSpec, ExistingCgroup } from '../shared/model.js';
import { addon } from '../native/index.js';

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function children(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return []; // removed while walking
  }
}

export interface PatternWalk {
  /** The cgroups the pattern matches now, in path order. */
  matches: ExistingCgroup[];
  /**
   * Every existing directory a new match could appear below (one per level the walk
   * reached, the root included): what `netcg watch` watches for mkdir/rmdir.
   */
  dirs: string[];
}

/** The cgroups below `root` (the cgroup2 mount) that `pattern` ('/a.slice/b-*.scope') matches now. */
export function walkCgroupPattern(root: string, pattern: string): PatternWalk {
  const parts = cgroupPathParts(pattern);
  let level = [''];
  const dirs: string[] = [];
  for (const part of parts) {
    const next: string[] = [];
    for (const rel of level) {
      const dir = join(root, rel);
      dirs.push(dir);
      if (!isGlob(part)) {
        if (isDir(join(dir, part))) next.push(`${rel}/${part}`);
      } else for (const name of children(dir)) if (globMatch(part, name)) next.push(`${rel}/${name}`);
    }
    level = next;
    if (level.length === 0) break;
  }
  const matches: ExistingCgroup[] = [];
  for (const path of level) {
    try {
      matches.push({ path, id: addon.cgroupId(join(root, path)) });
    } catch {
      /* removed since the walk saw it: not a match any more */
    }
  }
  return { matches, dirs };
}

/** Per existing-cgroup spec (`existing: true`), the cgroups its pattern matches now: the host fact compile needs. */
export function readExistingCgroups(
  root: string,
  specs: readonly CgroupSpec[],
): Record<string, readonly ExistingCgroup[]> {
  const out: Record<string, readonly ExistingCgroup[]> = {};
  for (const spec of specs)
    if (spec.existing) out[spec.profile] = walkCgroupPattern(root, `/${spec.path}`).matches;
  return out;
}

/** The specs of the cgroups netcg creates itself (everything but existing-cgroup profiles). */
export function ownSpecs<T extends Pick<CgroupSpec, 'existing'>>(specs: readonly T[]): T[] {
  return specs.filter((s) => !s.existing);
}
