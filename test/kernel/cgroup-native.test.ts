// The addon's cgroup primitives on the real kernel: CgroupProcs (kept
// cgroup.procs fd, one write(2) per PID, per-PID outcomes) on both the cgroup2
// and the net_cls v1 hierarchy, and cgroupId checked against stat(2) and
// against what nft itself resolves for `socket cgroupv2 level 1 "<path>"`.
// Hardening: a directory that is not on a cgroup filesystem is refused
// (ENOTCGROUP), and so is a symlink or a mount planted in place of cgroup.procs
// (planted inside a private mount namespace, never on the host).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { addon, openHandle, type Expr } from '../../src/native/index.js';
import { nftCgroupV2Path } from '../../src/render/cgroup-path.js';
import {
  createScratchCgroup,
  cgroupOfPid,
  hierarchyRoot,
  type Hierarchy,
  type ScratchCgroup,
} from '../fixtures/scratch-cgroup.js';
import { withNetns } from '../helpers/netns.js';
import { deadPid } from '../helpers/processes.js';

function startSleepers(count: number): ChildProcess[] {
  return Array.from({ length: count }, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
}

function stopAll(children: ChildProcess[]): void {
  for (const c of children) c.kill('SIGKILL');
}

/** A PID that was a process a moment ago and is now gone (reaped). */
async function withScratch<T>(h: Hierarchy, fn: (cg: ScratchCgroup) => Promise<T> | T): Promise<T> {
  const cg = createScratchCgroup(h);
  try {
    return await fn(cg);
  } finally {
    cg.remove();
  }
}

describe.each(['cgroup2', 'net_cls'] as const)('CgroupProcs on %s', (hierarchy) => {
  it('moves live PIDs and reports dead ones as ESRCH without stopping at them', async () => {
    const dead = await deadPid();
    const sleepers = startSleepers(3);
    try {
      await withScratch(hierarchy, (cg) => {
        const procs = new addon.CgroupProcs(cg.dir);
        try {
          expect(procs.path).toBe(cg.dir);
          const [a, b, c] = sleepers.map((s) => s.pid!) as [number, number, number];
          // The dead PID sits between live ones: the ones after it still move.
          const outcomes = procs.enroll([a, dead, b, c]);
          expect(outcomes).toEqual([
            { pid: a, ok: true },
            { pid: dead, ok: false, code: 'ESRCH', errno: 3 },
            { pid: b, ok: true },
            { pid: c, ok: true },
          ]);
          for (const pid of [a, b, c]) expect(cgroupOfPid(pid, hierarchy)).toBe(cg.name);
          expect(cg.pids().sort()).toEqual([a, b, c].sort());
          // The same fd serves later calls too.
          expect(procs.enroll([a])).toEqual([{ pid: a, ok: true }]);
        } finally {
          procs.close();
        }
      });
    } finally {
      stopAll(sleepers);
    }
  });

  it('refuses 0 ("self" to the kernel) and negative PIDs as EINVAL, never writing them', () =>
    withScratch(hierarchy, (cg) => {
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        expect(procs.enroll([0, -1, 2 ** 31])).toEqual([
          { pid: 0, ok: false, code: 'EINVAL', errno: 22 },
          { pid: -1, ok: false, code: 'EINVAL', errno: 22 },
          { pid: 2 ** 31, ok: false, code: 'EINVAL', errno: 22 },
        ]);
        // Had "0" been written, this test process would now be in the cgroup.
        expect(cg.pids()).toEqual([]);
        expect(cgroupOfPid(process.pid, hierarchy)).not.toBe(cg.name);
      } finally {
        procs.close();
      }
    }));

  it('enrolls 1,000 live processes in one call, all ok', async () => {
    const sleepers = startSleepers(1000);
    try {
      await Promise.all(sleepers.map((s) => once(s, 'spawn')));
      await withScratch(hierarchy, (cg) => {
        const procs = new addon.CgroupProcs(cg.dir);
        try {
          const pids = sleepers.map((s) => s.pid!);
          const outcomes = procs.enroll(pids);
          expect(outcomes.filter((o) => !o.ok)).toEqual([]);
          expect(outcomes.map((o) => o.pid)).toEqual(pids);
          expect(cg.pids().sort((x, y) => x - y)).toEqual([...pids].sort((x, y) => x - y));
        } finally {
          procs.close();
        }
      });
    } finally {
      stopAll(sleepers);
    }
  });

  it('throws before writing anything on malformed input, and EBADF once closed', () =>
    withScratch(hierarchy, (cg) => {
      const sleeper = startSleepers(1)[0]!;
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        const enroll = procs.enroll.bind(procs) as unknown as (pids: unknown) => unknown;
        expect(() => enroll('1')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
        // A valid PID before the bad element is not written either.
        expect(() => enroll([sleeper.pid, 1.5])).toThrow(
          expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('pids[1]') }),
        );
        expect(() => enroll([sleeper.pid, '7'])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
        expect(cg.pids()).toEqual([]);
        procs.close();
        procs.close(); // idempotent
        expect(() => procs.enroll([sleeper.pid!])).toThrow(expect.objectContaining({ code: 'EBADF' }));
      } finally {
        procs.close();
        stopAll([sleeper]);
      }
    }));
});

describe('CgroupProcs construction', () => {
  it('fails with ENOENT naming the directory for a missing cgroup', () => {
    const missing = `${hierarchyRoot('cgroup2')}/netcg-h7-no-such-cgroup`;
    expect(() => new addon.CgroupProcs(missing)).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        message: expect.stringContaining(`open: ${missing}: No such file`),
      }),
    );
  });
});

describe('cgroupId', () => {
  it('is the directory inode on cgroup2, for the root and a new cgroup', () =>
    withScratch('cgroup2', (cg) => {
      expect(addon.cgroupId(cg.dir)).toBe(statSync(cg.dir, { bigint: true }).ino);
      expect(addon.cgroupId(cg.root)).toBe(statSync(cg.root, { bigint: true }).ino);
      expect(addon.cgroupId(cg.dir)).not.toBe(addon.cgroupId(cg.root));
      // `stat -c %i` as the issue names it, not only Node's stat.
      const viaStat = spawnSync('stat', ['-c', '%i', cg.dir], { encoding: 'utf8' }).stdout.trim();
      expect(addon.cgroupId(cg.dir)).toBe(BigInt(viaStat));
    }));

  it('changes when the cgroup is deleted and recreated under the same name', () => {
    const cg = createScratchCgroup('cgroup2');
    let first: bigint;
    try {
      first = addon.cgroupId(cg.dir);
    } finally {
      cg.remove();
    }
    mkdirSync(cg.dir);
    try {
      expect(addon.cgroupId(cg.dir)).not.toBe(first);
    } finally {
      rmdirSync(cg.dir);
    }
  });

  it('equals the ID nft resolves for `socket cgroupv2 level 1 "<path>"`', () =>
    withScratch('cgroup2', (cg) =>
      withNetns((ns) => {
        // nft resolves the path below /sys/fs/cgroup (so "unified/<name>" on a hybrid host).
        const nftPath = relative('/sys/fs/cgroup', cg.dir);
        expect(nftPath.startsWith('..')).toBe(false);
        ns.nft('add', 'table', 'inet', 'h7');
        ns.nft('add', 'chain', 'inet', 'h7', 'out', '{ type filter hook output priority 0; }');
        ns.nft(
          'add',
          'rule',
          'inet',
          'h7',
          'out',
          'socket',
          'cgroupv2',
          'level',
          '1',
          `"${nftPath}"`,
          'counter',
        );
        const handle = openHandle(ns.path);
        try {
          const [rule] = handle.nftDump({ family: 'inet', table: 'h7' }).rules;
          const exprs = rule!.exprs;
          expect(exprs[0]).toMatchObject({ type: 'socket', key: 'cgroupv2', level: 1 });
          const cmp = exprs[1] as Extract<Expr, { type: 'cmp' }>;
          expect(cmp).toMatchObject({ type: 'cmp', op: 'eq' });
          expect(cmp.data).toHaveLength(8);
          // nft stores the ID in host byte order.
          const id = endianness() === 'LE' ? cmp.data.readBigUInt64LE() : cmp.data.readBigUInt64BE();
          expect(id).toBe(addon.cgroupId(cg.dir));
        } finally {
          handle.close();
        }
      }),
    ));

  it('is what the nft renderer looks IDs up by (the one reader of IDs)', () =>
    withScratch('cgroup2', (cg) => {
      expect(nftCgroupV2Path(addon.cgroupId(cg.dir), cg.root)).toBe(relative('/sys/fs/cgroup', cg.dir));
    }));

  it('refuses a v1 directory and reports a missing one', () => {
    expect(() => addon.cgroupId(hierarchyRoot('net_cls'))).toThrow(
      expect.objectContaining({
        code: 'ENOTCGROUP',
        message: expect.stringContaining('not a cgroup2 directory'),
      }),
    );
    expect(() => addon.cgroupId(`${hierarchyRoot('cgroup2')}/netcg-h7-no-such-cgroup`)).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});

const fileChild = fileURLToPath(new URL('../fixtures/cgroup-file-child.mjs', import.meta.url));
const bindOver = fileURLToPath(new URL('../fixtures/bind-over.py', import.meta.url));

describe('cgroup files are opened only from a verified cgroup directory', () => {
  it('refuses a directory on tmpfs with ENOTCGROUP, for every call, writing nothing', () => {
    const dir = mkdtempSync('/dev/shm/netcg-h7-notcg-');
    try {
      writeFileSync(join(dir, 'cgroup.procs'), '');
      writeFileSync(join(dir, 'net_cls.classid'), '');
      const refused = expect.objectContaining({
        code: 'ENOTCGROUP',
        message: expect.stringContaining(`${dir}: not a cgroup`),
      });
      expect(() => new addon.CgroupProcs(dir)).toThrow(refused);
      expect(() => addon.cgroupId(dir)).toThrow(expect.objectContaining({ code: 'ENOTCGROUP' }));
      expect(() => addon.cgroupReadFile(dir, 'cgroup.procs')).toThrow(refused);
      expect(() => addon.cgroupWriteFile(dir, 'net_cls.classid', '1\n')).toThrow(refused);
      expect(() =>
        addon.spawnInCgroup({ file: 'true', argv: ['true'], stdio: [0, 1, 2], cgroup: dir }),
      ).toThrow(refused);
      expect(statSync(join(dir, 'cgroup.procs')).size).toBe(0);
      expect(statSync(join(dir, 'net_cls.classid')).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a cgroup directory named through a symlink, and a name with a slash', () =>
    withScratch('cgroup2', (cg) => {
      const tmp = mkdtempSync('/dev/shm/netcg-h7-link-');
      try {
        const link = join(tmp, 'cg');
        symlinkSync(cg.dir, link);
        expect(() => new addon.CgroupProcs(link)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
        expect(() => addon.cgroupId(link)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
        expect(() => addon.cgroupReadFile(cg.root, `${cg.name.slice(1)}/cgroup.procs`)).toThrow(
          expect.objectContaining({ code: 'EINVAL', path: 'name' }),
        );
        expect(addon.cgroupReadFile(cg.dir, 'cgroup.procs')).toBe('');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }));

  type Outcome = { ok: boolean; code?: string; message?: string };

  /** Plants `source` over <victim>/cgroup.procs in a private mount namespace and runs the child there. */
  function plantAndTry(source: string, victim: string, pid: number, nofollow: boolean) {
    const script = `python3 "$1" ${nofollow ? '--nofollow ' : ''}"$2" "$3/cgroup.procs" && exec "$4" "$5" "$3" "$6"`;
    const r = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        script,
        'sh',
        bindOver,
        source,
        victim,
        process.execPath,
        fileChild,
        String(pid),
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as Record<'procs' | 'write' | 'read' | 'spawn' | 'id', Outcome>;
  }

  it.each([
    // cgroupfs has no symlinks: one can only be mounted there, so RESOLVE_NO_XDEV refuses it first.
    ['a symlink', true, 'EXDEV', 'mount'],
    ["a bind mount of another cgroup's file", false, 'EXDEV', 'mount'],
  ])(
    'refuses %s in place of cgroup.procs; the PID stays where it was',
    async (_what, nofollow, code, says) => {
      const [sleeper] = startSleepers(1) as [ChildProcess];
      try {
        await once(sleeper, 'spawn');
        const pid = sleeper.pid!;
        const before = cgroupOfPid(pid, 'cgroup2');
        await withScratch('cgroup2', (victim) =>
          withScratch('cgroup2', (elsewhere) => {
            const tmp = mkdtempSync('/dev/shm/netcg-h7-plant-');
            try {
              let source = join(elsewhere.dir, 'cgroup.procs');
              if (nofollow) {
                source = join(tmp, 'procs-link');
                symlinkSync(join(elsewhere.dir, 'cgroup.procs'), source);
              }
              const out = plantAndTry(source, victim.dir, pid, nofollow);
              for (const call of ['procs', 'write', 'read', 'spawn'] as const)
                expect(out[call], call).toMatchObject({
                  ok: false,
                  code,
                  message: expect.stringContaining(says),
                });
              // The directory itself is fine: its ID is still read.
              expect(out.id).toEqual({ ok: true });
              expect(elsewhere.pids()).toEqual([]);
              expect(victim.pids()).toEqual([]);
              expect(cgroupOfPid(pid, 'cgroup2')).toBe(before);
            } finally {
              rmSync(tmp, { recursive: true, force: true });
            }
          }),
        );
      } finally {
        stopAll([sleeper]);
      }
    },
  );
});
