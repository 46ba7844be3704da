// Configs that passed loadConfig, remembered by their content, so `netcg run` and
// the completion's profile list (both started often, both wanting to be quick)
// skip the schema library and the YAML parser when the file has not changed.
//
// An entry, in /run/netcg/config-cache/, holds the config's text, a stamp of
// netcg's validating code (the identity — inode, size, times — of this module's
// file and folder, of package.json and of zod's and yaml's: a rebuild, a reinstall
// or an upgrade changes it) and the normalized Config as JSON. It is used only when
// both text and stamp are equal to the current ones, so it can only ever stand for
// a text that loadConfig accepted, checked by the same code. A miss loads the
// config as every other command does (same errors, naming file, line and key).
// The name is a 64-bit hash of stamp and text (a lookup key, not a proof: the
// comparison is).
//
// Only root writes entries; they are read only when the directory and the file are
// root's and nobody else can write them. The directory is 0711 (no listing) and a
// name can only be computed from the config's text, so a user who cannot read a
// config cannot find its entry either. Entries live on /run (gone at reboot); a
// write keeps the newest MAX_ENTRIES. Cheap on purpose: no crypto module, no module
// resolution, a few stat calls.
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
import { join } from 'node:path';

import type { Config } from '../config/index.js';
import { ensureRunDir } from '../shared/run-dir.js';

const RUN_DIR = '/run/netcg';
const CACHE_DIR = `${RUN_DIR}/config-cache`;
const MAX_ENTRIES = 16;

/** What the validating code is (see above); the same for every start of one build. */
function codeStamp(): string {
  return [
    '',
    './',
    '../../package.json',
    '../../node_modules/zod/package.json',
    '../../node_modules/yaml/package.json',
  ]
    .map((rel) => {
      try {
        const st = statSync(new URL(rel, import.meta.url));
        return `${rel} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs}`;
      } catch {
        return `${rel} -`;
      }
    })
    .join('\n');
}

/** 64 bits of two FNV-1a-style lanes over the UTF-16 units, as 16 hex digits. */
function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

interface Entry {
  stamp: string;
  text: string;
  config: Omit<Config, 'file'>;
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

/** The remembered Config for `text`, or undefined (none, another text or build, or an entry that cannot be trusted). */
function readEntry(path: string, stamp: string, text: string, file: string): Config | undefined {
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
    const entry = JSON.parse(readFileSync(fd, 'utf8')) as Partial<Entry>;
    return entry.stamp === stamp && entry.text === text && entry.config
      ? { ...entry.config, file }
      : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Remembers `config` (as root only; any failure just leaves it unremembered). */
function writeEntry(path: string, stamp: string, text: string, config: Config): void {
  if (process.geteuid?.() !== 0) return;
  try {
    ensureRunDir(RUN_DIR); // 0755 whatever the umask, and only a directory of root's that nobody else writes
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o711 });
    if (!cacheDirTrusted()) return;
    const { file: _file, ...rest } = config;
    const entry: Entry = { stamp, text, config: rest };
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o644, flag: 'wx' });
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
  const stamp = codeStamp();
  const path = join(CACHE_DIR, `${hash64(`${stamp}\0${text}`)}.json`);
  const remembered = readEntry(path, stamp, text, file);
  if (remembered) return remembered;
  const config = (await import('../config/index.js')).parseConfig(text, file);
  writeEntry(path, stamp, text, config);
  return config;
}
