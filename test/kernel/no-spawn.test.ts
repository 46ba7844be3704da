// "No iptables, nft or ip process is spawned": the netlink backend speaks netlink
// itself. strace records every execve of the CLI and its children; the only
// program executed must be node itself (and, for `run`, the member command).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NETCG_CLI } from '../helpers/cli.js';
import { seedText, tempConfig, type TempConfig } from '../helpers/config.js';
import { buildTopology, type Topology } from '../helpers/topology.js';

let topo: Topology;
let cfg: TempConfig;
let traceDir: string;

/** Runs the CLI under strace -f and returns the programs it (and its children) exec'd, in order. */
function execsOf(args: string[], netnsPath?: string): string[] {
  const trace = join(traceDir, `t${Math.random().toString(36).slice(2)}`);
  const argv = [
    '-f',
    '-qq',
    '-e',
    'trace=execve',
    '-e',
    'signal=none',
    '-o',
    trace,
    process.execPath,
    NETCG_CLI,
    ...args,
  ];
  execFileSync(
    netnsPath ? 'nsenter' : 'strace',
    netnsPath ? [`--net=${netnsPath}`, 'strace', ...argv] : argv,
    { stdio: 'pipe' },
  );
  return [...readFileSync(trace, 'utf8').matchAll(/execve\("([^"]+)"/g)].map((m) => m[1]!);
}

beforeAll(() => {
  traceDir = mkdtempSync(join(tmpdir(), 'netcg-strace-'));
  topo = buildTopology('ncs');
  cfg = tempConfig(seedText(), 'ncs');
});

afterAll(() => {
  topo?.remove();
  cfg?.remove();
  rmSync(traceDir, { recursive: true, force: true });
});

describe('the netlink backend spawns no process', () => {
  it.each([
    ['apply', ['apply', '-c', () => cfg.file]],
    ['apply again', ['apply', '-c', () => cfg.file]],
    ['down', ['down', '-c', () => cfg.file]],
  ] as const)('netcg %s execs nothing but node', (_name, spec) => {
    const args = spec.map((a) => (typeof a === 'function' ? a() : a));
    const execs = execsOf([...args, '--netns', topo.host.path]);
    expect(execs).toEqual([process.execPath]);
  });

  it('the nft backend, by contrast, does run nft and ip (so the trace would see them)', () => {
    const execs = execsOf(['apply', '--backend', 'nft', '-c', cfg.file, '--netns', topo.host.path]);
    expect(execs.some((p) => p.endsWith('/nft'))).toBe(true);
    expect(execs.some((p) => p.endsWith('/ip'))).toBe(true);
    execsOf(['down', '-c', cfg.file, '--netns', topo.host.path]);
  });
});
