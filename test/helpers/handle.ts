// A throwaway namespace plus an addon handle bound to it, for the addon's kernel
// tests: created in beforeAll, closed and removed in afterAll even on failure.
import { afterAll, beforeAll, expect } from 'vitest';

import { NetlinkError, openHandle, type NetlinkHandle } from '../../src/native/index.js';
import { createNetns, type Netns } from './netns.js';

export interface NsHandle {
  readonly ns: Netns;
  readonly h: NetlinkHandle;
}

/** Registers the hooks; `ready` receives the namespace and handle in beforeAll. */
export function useNetnsHandle(prefix: string, ready: (made: NsHandle) => void): void {
  let made: NsHandle | undefined;
  beforeAll(() => {
    const ns = createNetns(prefix);
    made = { ns, h: openHandle(ns.path) };
    ready(made);
  });
  afterAll(() => {
    made?.h.close();
    made?.ns.remove();
  });
}

/** Wire bytes for expression data. */
export const bytes = (...values: number[]) => Buffer.from(values);
/** A host-endian (little-endian here) u32, as meta mark / cgroup / nfproto registers hold it. */
export const u32le = (n: number) => {
  const x = Buffer.alloc(4);
  x.writeUInt32LE(n);
  return x;
};
/** An interface name as oifname compares it: 16 bytes, zero-padded. */
export const ifname = (name: string) => {
  const x = Buffer.alloc(16);
  x.write(name);
  return x;
};

/** Runs `fn`, which must throw a NetlinkError, and returns that error for its fields to be checked. */
export function caught(fn: () => unknown): NetlinkError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NetlinkError);
    return e as NetlinkError;
  }
  throw new Error('expected a NetlinkError');
}
