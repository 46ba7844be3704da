// addon.exec: the launcher's `exec "$@"`, tested through a real Node child
// (test/fixtures/exec-child.mjs) that calls it, exactly as `netcg run` will.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { addon } from '../../src/native/index.js';

const child = fileURLToPath(new URL('../fixtures/exec-child.mjs', import.meta.url));

interface ProcState {
  pid: number;
  sigIgn: string;
  sigBlk: string;
  nonblock: boolean[];
  cloexec: boolean[];
}

function runExec(spec: { file: string; argv: string[]; env?: Record<string, string> }) {
  // stdin is a pipe too, so all three stdio fds are pipes Node puts in O_NONBLOCK.
  const r = spawnSync(process.execPath, [child, JSON.stringify(spec)], {
    encoding: 'utf8',
    input: '',
    timeout: 20_000,
  });
  const [preLine, ...rest] = r.stdout.split('\n');
  expect(preLine).toMatch(/^PRE /);
  const pre = JSON.parse(preLine!.slice(4)) as ProcState;
  return { status: r.status, signal: r.signal, stderr: r.stderr, pre, out: rest.join('\n') };
}

const SIGPIPE_BIT = 1n << 12n; // signal 13 is bit 12 of SigIgn/SigBlk

describe('addon.exec', () => {
  it('replaces the process: same pid, output and exit status pass through', () => {
    const r = runExec({ file: 'sh', argv: ['sh', '-c', 'echo $$; exit 7'] });
    expect(r.out).toBe(`${r.pre.pid}\n`);
    expect(r.status).toBe(7);
    expect(r.stderr).toBe('');
  });

  it('lets a signal end the program as it would from a shell', () => {
    const r = runExec({ file: 'sh', argv: ['sh', '-c', 'kill -TERM $$; echo survived'] });
    expect(r.signal).toBe('SIGTERM');
    expect(r.out).toBe('');
  });

  it('restores SIGPIPE: Node ignores it, the program gets the default (dies)', () => {
    const r = runExec({ file: 'sh', argv: ['sh', '-c', 'kill -PIPE $$; echo survived'] });
    // Proof that the reset matters: Node itself had SIGPIPE ignored.
    expect(BigInt(`0x${r.pre.sigIgn}`) & SIGPIPE_BIT).toBe(SIGPIPE_BIT);
    expect(r.signal).toBe('SIGPIPE');
    expect(r.out).toBe('');
  });

  it('runs `yes | head -n1` like a shell: prints y, no broken-pipe error', () => {
    const r = runExec({ file: 'sh', argv: ['sh', '-c', 'yes | head -n1'] });
    expect(r.out).toBe('y\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('starts the program with no ignored or blocked signals', () => {
    const r = runExec({ file: 'cat', argv: ['cat', '/proc/self/status'] });
    expect(r.out).toMatch(/^SigBlk:\s*0{16}$/m);
    expect(r.out).toMatch(/^SigIgn:\s*0{16}$/m);
    expect(r.out).toMatch(/^SigCgt:\s*0{16}$/m); // Node's SIGUSR2 handler did not survive
  });

  it('hands over stdio open and blocking, undoing close-on-exec and O_NONBLOCK', () => {
    const r = runExec({
      file: 'sh',
      argv: ['sh', '-c', 'for fd in 0 1 2; do sed -n "s/^flags:[[:space:]]*//p" /proc/$$/fdinfo/$fd; done'],
    });
    // Node (libuv) had made its stdio pipes non-blocking and close-on-exec...
    expect(r.pre.nonblock).toEqual([true, true, true]);
    expect(r.pre.cloexec.some(Boolean)).toBe(true);
    // ...and the exec'd program finds all three open and blocking (O_NONBLOCK = 04000 octal).
    const flags = r.out
      .trim()
      .split('\n')
      .map((f) => parseInt(f, 8));
    expect(flags).toHaveLength(3);
    for (const f of flags) expect(f & 0o4000).toBe(0);
  });

  it('uses exactly the given environment when env is passed', () => {
    const r = runExec({ file: 'env', argv: ['env'], env: { FOO: 'bar', NETCG_X: 'a b=c' } });
    expect(r.out).toBe('FOO=bar\nNETCG_X=a b=c\n');
    expect(r.status).toBe(0);
  });

  it('throws ENOENT for a missing program and leaves Node as it was', () => {
    const r = runExec({ file: 'netcg-no-such-program-9f3a', argv: ['netcg-no-such-program-9f3a'] });
    expect(r.status).toBe(3);
    const failed = JSON.parse(r.out.replace(/^FAILED /, '')) as {
      code: string;
      errno: number;
      op: string;
      message: string;
      after: ProcState;
    };
    expect(failed).toMatchObject({ code: 'ENOENT', errno: 2, op: 'exec' });
    expect(failed.message).toContain('netcg-no-such-program-9f3a');
    // The failed attempt put back Node's own settings.
    expect(failed.after).toEqual(r.pre);
  });

  it('rejects malformed arguments before touching the process', () => {
    const exec = addon.exec as unknown as (...args: unknown[]) => never;
    expect(() => exec(42, [])).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('file') }),
    );
    expect(() => exec('true', ['true', 1])).toThrow(
      expect.objectContaining({ message: expect.stringContaining('argv[1]') }),
    );
    expect(() => exec('true', ['true'], { A: 1 })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('env.A') }),
    );
  });
});
