// Serializes netcg runs that change one network namespace (apply, down): two
// concurrent applies would each plan against the same old state. The lock is a
// flock(2) on /run/netcg/<namespace>.lock (mode 0600, opened without following a
// link: run-dir.ts), so it dies with its holder: a killed apply never leaves a
// stale lock behind.
//
// Beside the lock, /run/netcg/<namespace>.unfinished says a change was under way
// and did not finish (killed, or failed with a rollback that may be incomplete).
// While it is there, netcg looks for its routes in every routing table: a run
// stopped between removing an ip rule and the routes of its table leaves routes
// that no rule points at, which a read table by table would not find.
import { closeSync, constants, lstatSync, rmSync, statSync, writeSync } from 'node:fs';

import { NetcgError } from '../shared/errors.js';
import { addon } from '../native/index.js';
import { ensureRunDir, openRunFile, RUN_DIR } from '../shared/run-dir.js';

export const LOCK_DIR = RUN_DIR;

/** The namespace's identity (device:inode of its nsfs file), so /run/netns/x and /proc/PID/ns/net share a lock. */
function namespaceKey(netns: string | undefined): string {
  const st = statSync(netns ?? '/proc/self/ns/net');
  return `netns-${st.dev}-${st.ino}`;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface LockOptions {
  /** How long to wait for another run to finish; default 30 s. */
  timeoutMs?: number;
}

/** Takes the namespace's lock, waiting up to timeoutMs; returns the release function. */
export function lockNamespace(netns: string | undefined, opts: LockOptions = {}): () => void {
  const path = `${ensureRunDir()}/${namespaceKey(netns)}.lock`;
  const fd = openRunFile(path, constants.O_RDWR);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  try {
    while (!addon.flock(fd, true, false)) {
      if (Date.now() >= deadline) {
        throw new NetcgError(
          'ELOCKED',
          `another netcg run holds ${path}; waited ${opts.timeoutMs ?? 30_000} ms for it to finish`,
        );
      }
      sleepMs(20);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return () => closeSync(fd); // closing the fd releases the flock
}

const unfinishedPath = (netns: string | undefined) => `${LOCK_DIR}/${namespaceKey(netns)}.unfinished`;

/** Whether a change of the namespace (apply, down) started and did not finish (anything under the mark's name counts). */
export function changeUnfinished(netns: string | undefined): boolean {
  return lstatSync(unfinishedPath(netns), { throwIfNoEntry: false }) !== undefined;
}

/**
 * Marks a change of the namespace as under way (call with the lock held, before the
 * first effect); the returned function clears the mark once it finished. A run that
 * dies or fails leaves the mark for the next one.
 */
export function markUnfinished(netns: string | undefined): () => void {
  ensureRunDir();
  const path = unfinishedPath(netns);
  const fd = openRunFile(path, constants.O_WRONLY | constants.O_TRUNC);
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return () => rmSync(path, { force: true });
}
