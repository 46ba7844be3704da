// The bench's daemons: dnsmasq instances and echo gateways, each started inside a
// namespace with nsenter (which execs, so the PID we hold is the daemon's). Every
// daemon is registered in a DaemonSet whose stopAll() is called from finally /
// afterAll: a daemon would otherwise keep its namespace alive after `ip netns del`.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { benchScript } from './scripts.js';

export const DNSMASQ = '/usr/sbin/dnsmasq';

export interface Daemon {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function track(name: string, child: ChildProcess, cleanup: () => void = () => {}): Daemon {
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return {
    name,
    pid: child.pid ?? -1,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await Promise.race([exit, sleep(2000)]);
        if (!exited) {
          child.kill('SIGKILL');
          await exit;
        }
      }
      cleanup();
    },
  };
}

/** Captures a child's stderr so a failed start can say why. */
function stderrOf(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text.trim();
}

export class DaemonSet {
  private readonly daemons: Daemon[] = [];

  /** Starts dnsmasq on 127.0.0.1:`port` in `ns`, answering `answers` (name -> IPv4) and nothing else. */
  async dnsmasq(ns: Netns, port: number, answers: Record<string, string>): Promise<Daemon> {
    const dir = mkdtempSync(join(tmpdir(), 'netcg-dnsmasq-'));
    const args = [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--conf-file=/dev/null',
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      `--port=${port}`,
      `--pid-file=${join(dir, 'pid')}`,
      '--user=root',
      '--group=root',
      '--cache-size=0',
      ...Object.entries(answers).map(([name, addr]) => `--address=/${name}/${addr}`),
    ];
    const child = spawn('nsenter', [`--net=${ns.path}`, DNSMASQ, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const daemon = track(`dnsmasq:${port}`, child, () => rmSync(dir, { recursive: true, force: true }));
    this.daemons.push(daemon);
    const stderr = stderrOf(child);
    const [name, addr] = Object.entries(answers)[0] ?? [];
    // Ready when it answers; dnsmasq has no readiness signal of its own in the foreground.
    for (let i = 0; i < 50; i++) {
      if (child.exitCode !== null) throw new Error(`dnsmasq on :${port} exited: ${stderr()}`);
      if (name && digAnswer(ns, ['-p', String(port), '@127.0.0.1', name]) === addr) return daemon;
      await sleep(100);
    }
    throw new Error(`dnsmasq on :${port} did not answer ${name}: ${stderr()}`);
  }

  /** Starts an echo gateway answering "<name> <source>" on TCP and UDP `port` (all addresses, v4 and v6). */
  async echo(ns: Netns, name: string, port: number): Promise<Daemon> {
    const child = spawn(
      'nsenter',
      [`--net=${ns.path}`, process.execPath, benchScript('echo-server'), name, String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const daemon = track(`echo:${name}`, child);
    this.daemons.push(daemon);
    const stderr = stderrOf(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`echo server ${name} not ready: ${stderr()}`)), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`echo server ${name} exited: ${stderr()}`));
      });
    });
    return daemon;
  }

  /** Stops every daemon started through this set; never throws. */
  async stopAll(): Promise<void> {
    await Promise.all(this.daemons.splice(0).map((d) => d.stop().catch(() => {})));
  }
}

/** `dig +short` inside `ns`; the first answer line, or '' on timeout/failure. */
export function digAnswer(ns: Netns, args: string[]): string {
  try {
    const out = execFileSync(
      'nsenter',
      [`--net=${ns.path}`, 'dig', '+short', '+time=1', '+tries=1', ...args],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    return out.split('\n')[0]?.trim() ?? '';
  } catch {
    return '';
  }
}
