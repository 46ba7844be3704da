// Throwaway network namespaces for kernel tests. Each has a unique name and is
// removed in afterAll/finally even when the test fails, so nothing leaks into the
// host. Tests may use `ip`/`nft` here to set up and inspect; only netcg's netlink
// backend is forbidden to spawn them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns {
  name: string;
  /** /run/netns/<name>, what `--netns` and the addon take. */
  path: string;
  /** Runs a command inside the namespace (nsenter keeps /sys and the cgroup mounts visible). */
  run(cmd: string, args: string[], input?: string): string;
  /** `ip` inside the namespace. */
  ip(...args: string[]): string;
  /** `nft` inside the namespace. */
  nft(...args: string[]): string;
  remove(): void;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

export function createNetns(prefix = 'nctest'): Netns {
  const name = uniqueName(prefix);
  execFileSync('ip', ['netns', 'add', name]);
  const path = `/run/netns/${name}`;
  const run = (cmd: string, args: string[], input?: string) =>
    execFileSync('nsenter', [`--net=${path}`, cmd, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  const ns: Netns = {
    name,
    path,
    run,
    ip: (...args) => run('ip', args),
    nft: (...args) => run('nft', args),
    remove() {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
  ns.ip('link', 'set', 'lo', 'up');
  return ns;
}

/** Creates a namespace, runs `fn`, and always removes the namespace. */
export async function withNetns<T>(fn: (ns: Netns) => Promise<T> | T, prefix?: string): Promise<T> {
  const ns = createNetns(prefix);
  try {
    return await fn(ns);
  } finally {
    ns.remove();
  }
}
