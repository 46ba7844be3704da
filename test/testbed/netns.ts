// Throwaway network namespaces for the test bench and the demo. Each has a unique
// name and is removed in afterAll/finally even when something fails, so nothing
// leaks into the host. The bench may use `ip`/`nft` here to set up and inspect;
// only netcg's netlink backend is forbidden to spawn them.
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
  /** Sets sysctls inside the namespace only (never the host's), e.g. { 'net.ipv4.conf.all.rp_filter': '0' }. */
  sysctl(values: Record<string, string>): void;
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
    execFileSync('nsenter', [`--net=${path}`, cmd, ...args], {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const ns: Netns = {
    name,
    path,
    run,
    ip: (...args) => run('ip', args),
    nft: (...args) => run('nft', args),
    sysctl(values) {
      // -w with key=value pairs; nsenter --net makes /proc/sys/net the namespace's own.
      run('sysctl', ['-q', '-w', ...Object.entries(values).map(([k, v]) => `${k}=${v}`)]);
    },
    remove() {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
  try {
    ns.ip('link', 'set', 'lo', 'up');
  } catch (err) {
    ns.remove();
    throw err;
  }
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
