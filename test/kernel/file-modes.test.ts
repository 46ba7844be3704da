// Every file and directory netcg creates has the mode it means, whatever the umask,
// and nothing it opens in /run/netcg follows a link planted there:
//   - /run/netcg 0755 root's; its per-namespace lock and "unfinished" mark 0600 root's;
//   - profile cgroups (and cgroupParent) 0755: owner-less ones root's, a delegated
//     one its owner's (net_cls: tasks and cgroup.procs the owner's), under umask 077
//     and 000 alike (the CLI runs through `sh -c 'umask …; exec …'`);
//   - a symlink planted as the namespace's lock or mark makes apply refuse, naming
//     it, and the file it points to is untouched; /run/netcg itself is only trusted
//     as a real, root-owned directory nobody else can write (checked on temporary
//     directories, the host's /run/netcg is not touched).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { markUnfinished } from '../../src/apply/lock.js';
import { ensureRunDir, RUN_DIR } from '../../src/shared/run-dir.js';
import { NETCG_CLI, runCli } from '../helpers/cli.js';
import { tempConfig, type TempConfig } from '../helpers/config.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { cgroupParentDirs } from '../helpers/quiet-netns.js';

const NOBODY = 65534;
let ns: Netns;
let cfg: TempConfig;
let scratch: string;

const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);
const owner = (p: string) => `${lstatSync(p).uid}:${lstatSync(p).gid}`;
const key = () => {
  const st = statSync(ns.path);
  return `netns-${st.dev}-${st.ino}`;
};

function cliWithUmask(umask: string, args: string[]) {
  const cmd = [process.execPath, NETCG_CLI, ...args].map((a) => `'${a}'`).join(' ');
  return spawnSync('sh', ['-c', `umask ${umask}; exec ${cmd}`], { encoding: 'utf8', timeout: 60_000 });
}

beforeAll(() => {
  ns = createNetns('ncfm');
  scratch = mkdtempSync(join(tmpdir(), 'netcg-modes-'));
  cfg = tempConfig(
    [
      'profiles:',
      '  q: { classid: 0x00ee0071, ipv6: reject }',
      '  o: { classid: 0x00ee0072, owner: nobody, ipv6: reject }',
      '  r: { match: cgroupv2, ipv6: reject }',
      '  p: { match: cgroupv2, owner: nobody, ipv6: reject }',
      '',
    ].join('\n'),
    'ncfm',
  );
});

afterAll(() => {
  try {
    if (cfg && ns) runCli(['down', '-c', cfg.file, '--netns', ns.path]);
  } finally {
    for (const suffix of ['lock', 'unfinished']) rmSync(join(RUN_DIR, `${key()}.${suffix}`), { force: true });
    ns?.remove();
    cfg?.remove();
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe('modes of what netcg creates', () => {
  for (const umask of ['077', '000'])
    it(`umask ${umask}: /run/netcg, its lock and the profile cgroups have their modes`, () => {
      runCli(['down', '-c', cfg.file, '--netns', ns.path]); // the cgroups are created by this apply
      expect(cgroupParentDirs(cfg.cgroupParent)).toEqual([]);
      const r = cliWithUmask(umask, ['apply', '-c', cfg.file, '--netns', ns.path]);
      expect(r.status, r.stderr).toBe(0);

      expect(lstatSync(RUN_DIR).isDirectory()).toBe(true);
      expect([mode(RUN_DIR), owner(RUN_DIR)]).toEqual(['755', '0:0']);
      const lock = join(RUN_DIR, `${key()}.lock`);
      expect(lstatSync(lock).isFile()).toBe(true);
      expect([mode(lock), owner(lock)]).toEqual(['600', '0:0']);

      const dirs = cgroupParentDirs(cfg.cgroupParent);
      expect(dirs.length).toBe(2); // net_cls and cgroup2
      for (const parent of dirs) {
        expect([mode(parent), owner(parent)], parent).toEqual(['755', '0:0']);
        const [ownerless, delegated] = parent.includes('net_cls') ? ['q', 'o'] : ['r', 'p'];
        expect([mode(join(parent, ownerless)), owner(join(parent, ownerless))]).toEqual(['755', '0:0']);
        expect(mode(join(parent, delegated))).toBe('755');
        if (delegated === 'p') expect(lstatSync(join(parent, 'p')).uid).toBe(NOBODY);
        else
          for (const f of ['tasks', 'cgroup.procs']) expect(lstatSync(join(parent, 'o', f)).uid).toBe(NOBODY);
      }
    });

  it("the unfinished-change mark is 0600 and root's", () => {
    const clear = markUnfinished(ns.path);
    const mark = join(RUN_DIR, `${key()}.unfinished`);
    try {
      expect([mode(mark), owner(mark)]).toEqual(['600', '0:0']);
      expect(readFileSync(mark, 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      clear();
    }
    expect(() => lstatSync(mark)).toThrow(/ENOENT/);
  });

  it('a run directory created under umask 077 is 0755 all the same', () => {
    const old = process.umask(0o077);
    try {
      ensureRunDir(join(scratch, 'fresh'));
    } finally {
      process.umask(old);
    }
    expect(mode(join(scratch, 'fresh'))).toBe('755');
  });
});

describe('links planted in /run/netcg are refused, never followed', () => {
  for (const suffix of ['lock', 'unfinished'] as const)
    it(`a symlink as the namespace's ${suffix}: apply refuses, naming it; the target is untouched`, () => {
      const victim = join(scratch, `victim-${suffix}`);
      writeFileSync(victim, 'precious\n', { mode: 0o640 });
      const planted = join(RUN_DIR, `${key()}.${suffix}`);
      rmSync(planted, { force: true });
      symlinkSync(victim, planted);
      try {
        const before = ns.nft('list', 'ruleset');
        const r = runCli(['apply', '-c', cfg.file, '--netns', ns.path]);
        expect(r.code).toBe(1);
        expect(r.stderr).toBe(
          `netcg: error: ${planted} is a symbolic link: netcg keeps its locks there and does not trust it; remove it (rm -r ${planted}) and run again\n`,
        );
        expect(readFileSync(victim, 'utf8')).toBe('precious\n');
        expect(mode(victim)).toBe('640');
        expect(ns.nft('list', 'ruleset')).toBe(before);
      } finally {
        rmSync(planted, { force: true });
      }
    });

  it('the run directory must be a real directory of ours that nobody else may write', () => {
    const real = join(scratch, 'real');
    mkdirSync(real, { mode: 0o755 });
    const link = join(scratch, 'link');
    symlinkSync(real, link);
    expect(() => ensureRunDir(link)).toThrow(`${link} is a symbolic link`);
    const file = join(scratch, 'file');
    writeFileSync(file, '');
    expect(() => ensureRunDir(file)).toThrow(`${file} is not a directory`);
    const open = join(scratch, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => ensureRunDir(open)).toThrow(`${open} is writable by group or others (mode 777)`);
    const theirs = join(scratch, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, NOBODY, NOBODY);
    expect(() => ensureRunDir(theirs)).toThrow(`${theirs} belongs to uid ${NOBODY}, not 0`);
    expect(ensureRunDir(real)).toBe(real);
  });
});
