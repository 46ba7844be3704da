// `netcg run` remembers a config that loaded (src/cli/config-memo.ts) and then
// starts without reading the schema or YAML libraries (strace sees which files the
// process opens). It refuses exactly what it refused before: a changed file is
// loaded again (a mistake is reported with file, line and key, and not remembered),
// the trust check comes first, and an entry someone other than root could have
// written is not used.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NETCG_CLI, cliOk } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';

const CACHE_DIR = '/run/netcg/config-cache';

let ns: Netns;
let cfg: TempConfig;
let traceDir: string;
let body: string;

beforeAll(() => {
  ns = createNetns('ncrm');
  traceDir = mkdtempSync(join(tmpdir(), 'netcg-run-memo-'));
  cfg = tempConfig('profiles:\n  a:\n    classid: 0x00ee0101\n    ipv6: reject\n', 'ncrm');
  body = readFileSync(cfg.file, 'utf8');
  cliOk(['apply', '-c', cfg.file, '--netns', ns.path]);
});

afterAll(() => {
  ns?.remove();
  cfg?.remove(); // also removes the memo entries of its configs
  if (traceDir) rmSync(traceDir, { recursive: true, force: true });
});

/** The memo entries of this test's configs (their cgroupParent is unique). */
function ourEntries(): string[] {
  let names: string[];
  try {
    names = readdirSync(CACHE_DIR);
  } catch {
    return [];
  }
  return names
    .map((n) => join(CACHE_DIR, n))
    .filter((p) => {
      try {
        return readFileSync(p, 'utf8').includes(cfg.cgroupParent);
      } catch {
        return false;
      }
    });
}

/** What zod's and yaml's code contain, bundled (dist/bin chunks) or not (node_modules). */
const LIBRARY_CODE = /"\$ZodType"|class YAMLParseError/;

/** `netcg run -c FILE PROFILE -- cat /proc/self/cgroup` under strace: its result, and the opened files that hold zod's or yaml's code. */
function run(profile: string) {
  const out = join(traceDir, `run-${Date.now()}-${Math.random()}.strace`);
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      out,
      '-e',
      'trace=open,openat',
      'nsenter',
      `--net=${ns.path}`,
      process.execPath,
    ].concat([NETCG_CLI, 'run', '-c', cfg.file, profile, '--', 'cat', '/proc/self/cgroup']),
    { encoding: 'utf8', timeout: 60_000 },
  );
  // Every open of a .js file, finished or not: with -f, a call on one of node's threads may be
  // split into `<unfinished ...>` and `<... openat resumed>` lines.
  const opened = new Set(
    [...readFileSync(out, 'utf8').matchAll(/open(?:at)?\(.*?"([^"]+\.[cm]?js)"/gm)].map((m) => m[1]!),
  );
  const libs = [...opened].filter((f) => existsSync(f) && LIBRARY_CODE.test(readFileSync(f, 'utf8')));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, libs };
}

const inCgroup = (stdout: string, profile: string) =>
  new RegExp(`:net_cls[^:]*:/${cfg.cgroupParent}/${profile}$`, 'm').test(stdout);

describe('netcg run remembers a config that loaded', () => {
  it('the first run loads the config and remembers it (root-owned, 0644); the next one reads neither zod nor yaml', () => {
    const first = run('a');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(inCgroup(first.stdout, 'a')).toBe(true);
    expect(first.libs.length).toBeGreaterThan(0);
    const entries = ourEntries();
    expect(entries).toHaveLength(1);
    const st = statSync(entries[0]!);
    expect(st.uid).toBe(0);
    expect(st.mode & 0o777).toBe(0o644);
    expect(statSync(CACHE_DIR).mode & 0o777).toBe(0o711);

    const second = run('a');
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(inCgroup(second.stdout, 'a')).toBe(true);
    expect(second.libs).toEqual([]);
  });

  it('a changed file is loaded again: a mistake is refused with file, line and key, and not remembered', () => {
    const before = ourEntries().length;
    writeFileSync(cfg.file, body.replace('classid: 0x00ee0101', 'classid: 0'));
    const r = run('a');
    expect(r.code).toBe(1);
    // table, cgroupParent, profiles, a, then classid on line 5.
    expect(r.stderr).toContain(`${cfg.file}:5:14: profiles.a.classid:`);
    expect(r.stdout).not.toMatch(/net_cls/);
    expect(ourEntries()).toHaveLength(before);
  });

  it('a renamed profile: the old name is refused, as loadConfig would', () => {
    writeFileSync(cfg.file, body.replace('  a:\n', '  b:\n'));
    const r = run('a');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no profile named 'a' in the config (profiles: b)");
    writeFileSync(cfg.file, body);
    expect(run('a').libs).toEqual([]); // the first content's entry is still there
  });

  it('the trust check comes first: a config others can change is refused even when remembered', () => {
    chmodSync(cfg.file, 0o666);
    try {
      const r = run('a');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/can change|writable/);
      expect(r.stdout).toBe('');
    } finally {
      chmodSync(cfg.file, 0o644);
    }
  });

  it('an entry others could have written is not used (and is replaced by root’s)', () => {
    const entry = ourEntries().find(
      (p) => (JSON.parse(readFileSync(p, 'utf8')) as { text?: string }).text === body,
    );
    expect(entry).toBeDefined();
    chmodSync(entry!, 0o664);
    const r = run('a');
    expect(r.code).toBe(0);
    expect(inCgroup(r.stdout, 'a')).toBe(true);
    expect(r.libs.length).toBeGreaterThan(0);
    expect(statSync(entry!).mode & 0o777).toBe(0o644);
  });
});
