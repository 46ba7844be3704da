// The file-system side of the config trust check: walks a config path the way the
// kernel resolves it — from /, component by component, following every symbolic
// link (relative to the link's directory) — and lstat()s each step. trust.ts
// decides what the facts mean.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';

import { NetcgError } from '../shared/errors.js';
import { trustFindings, untrustedMessage, type PathFact, type TrustFinding } from './trust.js';

/** As the kernel's limit on links followed in one resolution (ELOOP). */
const MAX_LINKS = 40;

function factOf(path: string, role: PathFact['role'], st: Stats): PathFact {
  return { path, role, uid: st.uid, mode: st.mode & 0o7777 };
}

function componentsOf(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * What lstat says about every step of resolving `file`: `/`, each directory passed
 * through, each link followed, and the file. A step that cannot be read ends the
 * walk (reading the config then reports the error).
 */
export function pathFacts(file: string): PathFact[] {
  const facts: PathFact[] = [factOf('/', 'directory', lstatSync('/'))];
  let pending = componentsOf(resolve(file));
  let current = '/';
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      current = resolve(current, '..');
      continue;
    }
    const next = join(current, name);
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch {
      return facts;
    }
    if (st.isSymbolicLink()) {
      facts.push(factOf(next, 'link', st));
      if (++links > MAX_LINKS) return facts;
      const target = readlinkSync(next);
      if (target.startsWith('/')) current = '/';
      pending = [...componentsOf(target), ...pending];
      continue;
    }
    facts.push(factOf(next, pending.length === 0 ? 'config' : 'directory', st));
    current = next;
  }
  return facts;
}

/** Why someone other than root could change the config at `file`; empty when only root can. */
export function configTrust(file: string): TrustFinding[] {
  return trustFindings(pathFacts(file));
}

/**
 * Refuses (EUNTRUSTEDCONFIG) a config someone other than root could change, when
 * this process runs as root; with `trust` the findings are returned instead, for
 * the caller to warn about. Not root: nothing is checked.
 */
export function checkConfigTrust(file: string, trust: boolean): TrustFinding[] {
  if (process.geteuid?.() !== 0) return [];
  const findings = configTrust(file);
  if (findings.length > 0 && !trust)
    throw new NetcgError('EUNTRUSTEDCONFIG', untrustedMessage(file, findings));
  return findings;
}
