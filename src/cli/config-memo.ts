// Configs that passed loadConfig, remembered by their content, so `netcg run` and
// the completion's profile list (both started often, both wanting to be quick)
// skip the schema library and the YAML parser when the file has not changed.
//
// An entry is the normalized Config as JSON, in /run/netcg/config-cache/, named by
// the SHA-256 of the config's bytes and of netcg's own validating code (its config
// and shared modules, their sizes, times and inodes, and the versions of netcg, zod
// and yaml): any change to either is a different name, so an entry can only ever
// stand for a file that loadConfig accepted, checked by the same code. A miss loads
// the config as every other command does (same errors, naming file, line and key).
//
// Only root writes entries; they are read only when the directory and the file are
// root's and nobody else can write them. The directory is 0711 (no listing) and a
// name can only be computed from the config's content, so a user who cannot read a
// config cannot find its entry either. Entries live on /run (gone at reboot); a
// write keeps the newest MAX_ENTRIES.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import type { Config } from '../config/index.js';

const RUN_DIR = '/run/netcg';
const CACHE_DIR = `${RUN_DIR}/config-cache`;
const MAX_ENTRIES = 16;

/**
 * What the validating code is: the versions of netcg, zod and yaml, and the identity
 * (inode, size, time) of every file of netcg's code beside this module and in its
 * config/ and shared/ folders (whichever exist: a bundle has one folder). A rebuild
 * or an upgrade changes it.
 */
function codeStamp(): string {
  const parts: string[] = [];
  const require = createRequire(import.meta.url);
  for (const pkg of ['../../package.json', 'zod/package.json', 'yaml/package.json'])
    parts.push(
      `${pkg} ${(JSON.parse(readFileSync(require.resolve(pkg), 'utf8')) as { version: string }).version}`,
    );
  for (const dir of ['./', '../config/', '../shared/']) {
    const url = new URL(dir, import.meta.url);
    let names: string[];
    try {
      names = readdirSync(url).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const st = statSync(new URL(name, url));
      parts.push(`${dir}${name} ${st.ino} ${st.size} ${st.mtimeMs}`);
    }
  }
  return parts.join('\n');
}

/** Where the entry for a config with this text is; undefined when the code cannot be identified. */
function entryPath(text: string): string | undefined {
  try {
    const hash = createHash('sha256').update(codeStamp()).update('\0').update(text).digest('hex');
    return join(CACHE_DIR, `${hash}.json`);
  } catch {
    return undefined;
  }
}

/** Only root's, writable by nobody else: otherwise an entry there could not be trusted. */
const rootsOnly = (st: { uid: number; mode: number }) => st.uid === 0 && (st.mode & 0o022) === 0;

function cacheDirTrusted(): boolean {
  try {
    return [RUN_DIR, CACHE_DIR].every((d) => {
      const st = lstatSync(d);
      return st.isDirectory() && rootsOnly(st);
    });
  } catch {
    return false;
  }
}

/** The remembered Config for `text`, or undefined (no entry, or one that cannot be trusted). */
function readEntry(path: string, file: string): Config | undefined {
  if (!cacheDirTrusted()) return undefined;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !rootsOnly(st)) return undefined;
    const entry = JSON.parse(readFileSync(fd, 'utf8')) as { config?: Omit<Config, 'file'> };
    return entry.config ? { ...entry.config, file } : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Remembers `config` (as root only; any failure just leaves it unremembered). */
function writeEntry(path: string, config: Config): void {
  if (process.geteuid?.() !== 0) return;
  try {
    mkdirSync(RUN_DIR, { recursive: true, mode: 0o755 });
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o711 });
    if (!cacheDirTrusted()) return;
    const { file: _file, ...rest } = config;
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ config: rest }), { mode: 0o644, flag: 'wx' });
    renameSync(tmp, path);
    prune();
  } catch {
    // Not remembered: the next start loads the config again.
  }
}

/** Keeps the newest MAX_ENTRIES entries. */
function prune(): void {
  const entries = readdirSync(CACHE_DIR)
    .map((name) => ({ path: join(CACHE_DIR, name), mtime: lstatSync(join(CACHE_DIR, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const e of entries.slice(MAX_ENTRIES)) rmSync(e.path, { force: true });
}

/**
 * loadConfig(file), through the memo: the same Config, or the same error, as
 * loadConfig; the schema and YAML modules are loaded only on a miss.
 */
export async function loadConfigRemembered(file: string): Promise<Config> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // loadConfig reports the failure to read (ENOCONFIG) in its own words.
    return (await import('../config/index.js')).loadConfig(file);
  }
  const path = entryPath(text);
  const remembered = path === undefined ? undefined : readEntry(path, file);
  if (remembered) return remembered;
  const config = (await import('../config/index.js')).parseConfig(text, file);
  if (path !== undefined) writeEntry(path, config);
  return config;
}
