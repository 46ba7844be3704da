// Throwaway processes for enrollment tests: live ones to move, and a PID known dead.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** `count` running `sleep 600` processes (the caller kills them). */
export async function sleepers(count: number): Promise<ChildProcess[]> {
  const list = Array.from({ length: count }, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
  await Promise.all(list.map((c) => once(c, 'spawn')));
  return list;
}

/** The PID of a process that has exited and been reaped (ESRCH for the kernel, unless reused). */
export async function deadPid(): Promise<number> {
  const c = spawn('true', { stdio: 'ignore' });
  await once(c, 'exit');
  return c.pid!;
}
