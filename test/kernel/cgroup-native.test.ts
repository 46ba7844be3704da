// The addon's cgroup primitives on the real kernel: CgroupProcs (kept
// cgroup.procs fd, one write(2) per PID, per-PID outcomes) on both the cgroup2
// and the net_cls v1 hierarchy, and cgroupId checked against stat(2) and
// against what nft itself resolves for `socket cgroupv2 level 1 "<path>"`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { addon, openHandle, type Expr } from '../../src/native/index.js';
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
  it('fails with ENOENT naming the file for a missing cgroup', () => {
    const missing = `${hierarchyRoot('cgroup2')}/netcg-h7-no-such-cgroup`;
    expect(() => new addon.CgroupProcs(missing)).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        message: expect.stringContaining(`${missing}/cgroup.procs`),
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

  it('refuses a v1 directory and reports a missing one', () => {
    expect(() => addon.cgroupId(hierarchyRoot('net_cls'))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => addon.cgroupId(`${hierarchyRoot('cgroup2')}/netcg-h7-no-such-cgroup`)).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});
