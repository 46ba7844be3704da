// /run/netcg: where netcg keeps its per-namespace locks and marks (and mounts net_cls
// when the host has none). Made 0755 whatever the umask, and trusted only while it is
// a real directory of ours that nobody else may write; files in it are opened with
// O_NOFOLLOW, so a link planted there is refused, never followed.
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';

import { NetcgError } from './errors.js';

export const RUN_DIR = '/run/netcg';
export const RUN_DIR_MODE = 0o755;
/** Locks and marks: nobody else needs to read them. */
export const RUN_FILE_MODE = 0o600;

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

function refuse(path: string, why: string): NetcgError {
  return new NetcgError(
    'EUNSAFEPATH',
    `${path} ${why}: netcg keeps its locks there and does not trust it; remove it (rm -r ${path}) and run again`,
  );
}

/** A failed create or open of `path` as a NetcgError naming the need (EACCES: not root). */
function openError(path: string, err: unknown): NetcgError {
  const code = (err as { code?: string }).code ?? 'EIO';
  if (code === 'ELOOP') return refuse(path, 'is a symbolic link');
  if (code === 'EACCES' || code === 'EPERM')
    return new NetcgError(code, `cannot create ${path}: permission denied; netcg needs root here`, {
      cause: err,
    });
  return new NetcgError(code, `cannot open ${path}: ${(err as Error).message}`, { cause: err });
}

/**
 * Creates `dir` (mode 0755 exactly) when missing and checks it: a directory, not a
 * symbolic link, owned by this process's user, not writable by group or others.
 * Returns `dir`; throws EUNSAFEPATH naming what is wrong.
 */
export function ensureRunDir(dir: string = RUN_DIR): string {
  let created = false;
  try {
    mkdirSync(dir, { mode: RUN_DIR_MODE });
    created = true;
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw openError(dir, err);
  }
  let fd: number;
  try {
    fd = openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOTDIR') throw openError(dir, err);
    // O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a link as well: tell them apart.
    throw refuse(dir, lstatSync(dir).isSymbolicLink() ? 'is a symbolic link' : 'is not a directory');
  }
  try {
    if (created) fchmodSync(fd, RUN_DIR_MODE); // the umask may have taken bits away
    const st = fstatSync(fd);
    const uid = process.geteuid?.() ?? 0;
    if (st.uid !== uid) throw refuse(dir, `belongs to uid ${st.uid}, not ${uid}`);
    if ((st.mode & 0o022) !== 0)
      throw refuse(dir, `is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`);
  } finally {
    closeSync(fd);
  }
  return dir;
}

/**
 * Opens `path` (in a checked run directory) without following a symbolic link,
 * creating it with mode 0600; an existing file must be a regular file of ours, and
 * gets mode 0600 too. `flags`: the access flags besides O_CREAT|O_NOFOLLOW.
 */
export function openRunFile(path: string, flags: number): number {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_CREAT | O_NOFOLLOW, RUN_FILE_MODE);
  } catch (err) {
    throw openError(path, err);
  }
  try {
    const st = fstatSync(fd);
    const uid = process.geteuid?.() ?? 0;
    if (!st.isFile()) throw refuse(path, 'is not a regular file');
    if (st.uid !== uid) throw refuse(path, `belongs to uid ${st.uid}, not ${uid}`);
    if ((st.mode & 0o7777) !== RUN_FILE_MODE) fchmodSync(fd, RUN_FILE_MODE);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}
