// A config only root can shape (docs/config.md#who-may-shape-the-config): netcg run
// as root refuses a config someone else could change — and changes nothing — unless
// --trust-config says to use it anyway; `netcg watch` keeps its running config on a
// SIGHUP that finds one; `netcg doctor` reports it. Each case in its own namespace
// state, compared with `nft list ruleset` and `ip rule` before and after.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findCgroup2 } from '../../src/cgroups/cgroup2.js';
import { cliBuilt, NETCG_CLI, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const NOBODY = 65534;
const BODY = 'profiles:\n  p:\n    match: cgroupv2\n    ipv6: reject\n';

let ns: Netns;
const made: TempConfig[] = [];
const dirs: string[] = [];

function snapshot(): string {
  return [ns.nft('-s', 'list', 'ruleset'), ns.ip('-4', 'rule', 'show'), ns.ip('-6', 'rule', 'show')].join(
    '\n--\n',
  );
}

function config(): TempConfig {
  const c = tempConfig(BODY, 'nctr');
  made.push(c);
  return c;
}

function cgroupMade(c: TempConfig): boolean {
  const root = findCgroup2();
  return root !== undefined && existsSync(join(root, c.cgroupParent));
}

beforeAll(() => {
  ns = createNetns('nctrust');
  ns.run(
    'nft',
    ['-f', '-'],
    'table inet other {\n  chain out {\n    type filter hook output priority 0;\n  }\n}\n',
  );
});

afterAll(() => {
  for (const c of made) c.remove();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  ns?.remove();
});

/** Runs apply and expects a refusal that names `what` and `fix`, with nothing changed. */
function expectRefused(c: TempConfig, file: string, what: RegExp, fix: string): void {
  const before = snapshot();
  const r = runCli(['apply', '-c', file, '--netns', ns.path]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`refusing the config ${file}`);
  expect(r.stderr).toMatch(what);
  expect(r.stderr).toContain(`fix: ${fix}`);
  expect(snapshot()).toBe(before);
  expect(cgroupMade(c)).toBe(false);
  const j = runCli(['apply', '-c', file, '--netns', ns.path, '--json']);
  expect(j.code).toBe(1);
  expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'EUNTRUSTEDCONFIG' } });
}

describe('as root, a config someone else could change is refused', () => {
  it('a 0666 config', () => {
    const c = config();
    chmodSync(c.file, 0o666);
    expectRefused(
      c,
      c.file,
      /\(the config file\) is group- and world-writable \(mode 0666\)/,
      `chmod go-w ${c.file}`,
    );
  });

  it('a config owned by another user', () => {
    const c = config();
    chownSync(c.file, NOBODY, NOBODY);
    expectRefused(
      c,
      c.file,
      /\(the config file\) is owned by uid 65534, not root/,
      `chown root:root ${c.file}`,
    );
  });

  it('a writable directory on its path', () => {
    const c = config();
    chmodSync(dirname(c.file), 0o777);
    expectRefused(
      c,
      c.file,
      new RegExp(
        `${dirname(c.file)} \\(a directory on its path\\) is group- and world-writable \\(mode 0777\\)`,
      ),
      `chmod go-w ${dirname(c.file)}`,
    );
  });

  it('a symbolic link to a writable file (the target is checked)', () => {
    const c = config();
    const elsewhere = mkdtempSync(join(tmpdir(), 'netcg-trust-'));
    dirs.push(elsewhere);
    const target = join(elsewhere, 'real.yaml');
    writeFileSync(target, readFileSync(c.file));
    chmodSync(target, 0o646);
    const link = join(dirname(c.file), 'link.yaml');
    symlinkSync(target, link);
    expectRefused(
      c,
      link,
      new RegExp(`${target} \\(the config file\\) is world-writable \\(mode 0646\\)`),
      `chmod go-w ${target}`,
    );
  });

  it('doctor reports it as an error with the fix', () => {
    const c = config();
    chmodSync(c.file, 0o666);
    const r = runCli(['doctor', '-c', c.file, '--netns', ns.path, '--json']);
    expect(r.code).toBe(2);
    const findings = (JSON.parse(r.stdout) as { findings: Array<Record<string, string>> }).findings;
    expect(findings).toContainEqual(
      expect.objectContaining({
        check: 'config-trust',
        level: 'error',
        fix: `chmod go-w ${c.file} (or pass --trust-config)`,
      }),
    );
  });
});

describe('what only root can change is applied', () => {
  it('a root-owned 0644 config in a root-owned 0700 directory under /tmp (sticky)', () => {
    const c = config();
    const r = runCli(['apply', '-c', c.file, '--netns', ns.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
    expect(ns.nft('list', 'table', 'inet', c.table)).toContain('ipv6');
    expect(runCli(['down', '-c', c.file, '--netns', ns.path]).code).toBe(0);
  });

  it('--trust-config applies a 0666 config with a warning (and a JSON field)', () => {
    const c = config();
    chmodSync(c.file, 0o666);
    const r = runCli(['apply', '-c', c.file, '--netns', ns.path, '--trust-config', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`netcg: warning: --trust-config: using ${c.file} although`);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      trustOverridden: [
        { path: c.file, role: 'config', problem: 'world-writable', fix: `chmod go-w ${c.file}` },
      ],
    });
    expect(ns.nft('list', 'table', 'inet', c.table)).toContain('ipv6');
    expect(runCli(['down', '-c', c.file, '--netns', ns.path]).code).toBe(1); // refused again
    expect(runCli(['down', '-c', c.file, '--netns', ns.path, '--trust-config']).code).toBe(0);
  });
});

describe('netcg watch', () => {
  it('on SIGHUP keeps the running config when the file became writable by others, and says why', async () => {
    if (!cliBuilt()) throw new Error(`${NETCG_CLI} is missing: run npm run build:ts first`);
    const c = config();
    const proc = spawn(process.execPath, [NETCG_CLI, 'watch', '-c', c.file, '--netns', ns.path, '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const records: Array<Record<string, unknown>> = [];
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        records.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
        out = out.slice(nl + 1);
      }
    });
    const until = async (what: string, probe: () => unknown): Promise<unknown> => {
      for (let i = 0; i < 1000; i++) {
        const v = probe();
        if (v) return v;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    try {
      await until('the initial apply', () => records.find((r) => r.event === 'apply'));
      const before = snapshot();
      writeFileSync(
        c.file,
        `${readFileSync(c.file, 'utf8')}  q:\n    match: cgroupv2\n    network: offline\n`,
      );
      chmodSync(c.file, 0o666);
      proc.kill('SIGHUP');
      const rec = await until('the config-error record', () =>
        records.find((r) => r.event === 'config-error'),
      );
      expect(rec).toMatchObject({ file: c.file, code: 'EUNTRUSTEDCONFIG', issues: [] });
      expect((rec as { message: string }).message).toContain(`fix: chmod go-w ${c.file}`);
      expect(snapshot()).toBe(before);
      expect(proc.exitCode).toBeNull();
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
    expect(runCli(['down', '-c', c.file, '--netns', ns.path, '--trust-config']).code).toBe(0);
  });
});
