// Concurrent runs on one namespace are serialized by a flock that dies with its
// holder: a second run waits (or times out with ELOCKED), and a SIGKILLed holder
// leaves no stale lock.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lockNamespace } from '../../src/apply/lock.js';
import { createNetns, type Netns } from '../helpers/netns.js';

let ns: Netns;
let other: Netns;

beforeAll(() => {
  ns = createNetns('nclk');
  other = createNetns('nclk');
});
afterAll(() => {
  ns?.remove();
  other?.remove();
});

/** A child process that takes the lock, says "locked", and holds it until killed. */
async function holder(path: string) {
  const lockModule = new URL('../../dist/apply/lock.js', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { lockNamespace } = await import(${JSON.stringify(lockModule)}); lockNamespace(${JSON.stringify(path)}); console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [data] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(data.toString()).toContain('locked');
  return child;
}

describe('the namespace lock', () => {
  it('a second run times out with ELOCKED while the first holds it; other namespaces are independent', async () => {
    const child = await holder(ns.path);
    try {
      expect(() => lockNamespace(ns.path, { timeoutMs: 200 })).toThrow(
        expect.objectContaining({ code: 'ELOCKED' }),
      );
      const release = lockNamespace(other.path, { timeoutMs: 200 });
      release();
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });

  it('a SIGKILLed holder leaves no stale lock', async () => {
    const child = await holder(ns.path);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const release = lockNamespace(ns.path, { timeoutMs: 1000 });
    release();
  });

  it('the same namespace through another path (/proc/PID/ns/net) is the same lock', async () => {
    const child = await holder(ns.path);
    try {
      const sleeper = spawn('nsenter', [`--net=${ns.path}`, 'sleep', '30']);
      // wait until the sleeper has entered the namespace (same nsfs inode)
      for (let i = 0; i < 100 && statSync(`/proc/${sleeper.pid}/ns/net`).ino !== statSync(ns.path).ino; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(statSync(`/proc/${sleeper.pid}/ns/net`).ino).toBe(statSync(ns.path).ino);
      try {
        expect(() => lockNamespace(`/proc/${sleeper.pid}/ns/net`, { timeoutMs: 100 })).toThrow(
          expect.objectContaining({ code: 'ELOCKED' }),
        );
      } finally {
        sleeper.kill('SIGKILL');
      }
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
});
