// Runs the built CLI (`node dist/bin/netcg.js …`) the way a user would, optionally
// inside a namespace through nsenter, and captures stdout, stderr and exit code.
// The e2e tests need `npm run build:ts` first (the CLI and the bench's probe and
// echo programs run from dist/).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NETCG_CLI } from '../testbed/probes.js';
import type { Netns } from '../testbed/netns.js';

export { NETCG_CLI };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Run inside this namespace (nsenter --net), as `netcg run` members must. */
  netns?: Netns;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function cliBuilt(): boolean {
  return existsSync(NETCG_CLI);
}

export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  if (!cliBuilt()) throw new Error(`${NETCG_CLI} is missing: run npm run build:ts first`);
  const argv = [process.execPath, NETCG_CLI, ...args];
  const [cmd, ...rest] = opts.netns ? ['nsenter', `--net=${opts.netns.path}`, ...argv] : argv;
  const r = spawnSync(cmd!, rest, {
    encoding: 'utf8',
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 30_000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs the CLI and throws with its output unless it exits 0. */
export function cliOk(args: string[], opts: CliOptions = {}): CliResult {
  const r = runCli(args, opts);
  if (r.code !== 0)
    throw new Error(`netcg ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
