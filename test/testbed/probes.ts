// The probes a member and a non-member run inside the host namespace: DNS via dig,
// TCP/UDP via the bench's probe client. A Launcher turns a command into the argv
// that starts it (plainly, or through `netcg run PROFILE --`).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROBE_NAME } from './config.js';
import type { Netns } from './netns.js';
import { benchScript, PACKAGE_ROOT } from './scripts.js';

export type Launcher = (argv: string[]) => string[];

/** The CLI under test: the built one as it ships (the package's bin, bundled), or $NETCG_E2E_CLI (e.g. an installed netcg's). */
export const NETCG_CLI = process.env.NETCG_E2E_CLI ?? join(PACKAGE_ROOT, 'dist', 'bin', 'netcg.js');

/** Runs the command in `host`'s network namespace, outside every profile. */
export const outsider =
  (host: Netns): Launcher =>
  (argv) => ['nsenter', `--net=${host.path}`, ...argv];

/** Runs the command in `host`'s network namespace as a member of `profile`, through the CLI. */
export const member =
  (host: Netns, configFile: string, profile: string): Launcher =>
  (argv) => [
    'nsenter',
    `--net=${host.path}`,
    process.execPath,
    NETCG_CLI,
    'run',
    '-c',
    configFile,
    profile,
    '--',
    ...argv,
  ];

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function launch(launcher: Launcher, argv: string[], timeoutMs = 15_000): Outcome {
  const [cmd, ...args] = launcher(argv);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

/** The first answer dig prints for PROBE_NAME, or '' when no server answered. */
export function resolve(
  launcher: Launcher,
  opts: { server: string; tcp?: boolean },
): Outcome & { answer: string } {
  const out = launch(launcher, [
    'dig',
    '+short',
    '+time=2',
    '+tries=1',
    ...(opts.tcp ? ['+tcp'] : []),
    `@${opts.server}`,
    PROBE_NAME,
  ]);
  const first = out.stdout.split('\n')[0]?.trim() ?? '';
  return { ...out, answer: out.code === 0 && /^[0-9.]+$/.test(first) ? first : '' };
}

export interface EchoReply {
  /** Which echo server answered ('lan', 'vpn', 'host'), or undefined on failure. */
  gateway?: string;
  /** The source address that server saw. */
  source?: string;
  /** Why it failed ('ECONNREFUSED', 'ETIMEDOUT', ...). */
  error?: string;
}

/** Asks the echo server at host:port who it is and what source it saw. */
export function echo(
  launcher: Launcher,
  proto: 'tcp' | 'udp',
  host: string,
  port: number,
): EchoReply & { outcome: Outcome } {
  const outcome = launch(launcher, [process.execPath, benchScript('probe'), proto, host, String(port)]);
  if (outcome.code === 0) {
    const [gateway, source] = outcome.stdout.trim().split(/\s+/);
    return { gateway, source, outcome };
  }
  const error =
    /^error (\S+)/m.exec(outcome.stderr)?.[1] ?? (outcome.stderr.trim() || `exit ${outcome.code}`);
  return { error, outcome };
}
