// Serializes netcg runs that change one network namespace (apply, down): two
// concurrent applies would each plan against the same old state. The lock is a
// flock(2) on /run/netcg/<namespace>.lock, so it dies with its holder: a killed
// apply never leaves a stale lock behind.
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';

import { NetcgError } from '../shared/errors.js';
import { addon } from '../native/index.js';

export const LOCK_DIR = '/run/netcg';

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
  mkdirSync(LOCK_DIR, { recursive: true, mode: 0o755 });
  const path = `${LOCK_DIR}/${namespaceKey(netns)}.lock`;
  const fd = openSync(path, 'a', 0o644);
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
