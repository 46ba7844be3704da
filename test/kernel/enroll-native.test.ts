// The addon's batch primitives behind Enroller, on the real kernel and both
// hierarchies: CgroupProcs.writePids (Int32Array in, one errno per PID out) and
// procCgroupPaths (each PID's path in one hierarchy, read from /proc/PID/cgroup
// natively), checked against the kernel's own view (cgroup.procs and
// /proc/PID/cgroup read from JS); plus the Enroller's handling of PIDs that do
// not fit an Int32Array.
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

import { describe, expect, it } from 'vitest';

import type { Config } from '../../src/config/index.js';
import { Enroller } from '../../src/process/enroll.js';
import { addon } from '../../src/native/index.js';
import {
  createScratchCgroup,
  cgroupOfPid,
  type Hierarchy,
  type ScratchCgroup,
} from '../fixtures/scratch-cgroup.js';
import { deadPid, sleepers } from '../helpers/processes.js';

/** Runs fn with `n` live sleepers and a scratch cgroup of `h`; kills and removes everything after. */
async function withSleepers<T>(
  h: Hierarchy,
  n: number,
  fn: (pids: number[], cg: ScratchCgroup) => T | Promise<T>,
): Promise<T> {
  const cg = createScratchCgroup(h);
  const list = await sleepers(n);
  try {
    return await fn(
      list.map((c) => c.pid!),
      cg,
    );
  } finally {
    for (const c of list) c.kill('SIGKILL');
    cg.remove();
  }
}

/** What /proc/PID/cgroup calls this hierarchy in procCgroupPaths' terms. */
const controllersOf = (h: Hierarchy) => (h === 'cgroup2' ? '' : 'net_cls');

describe.each(['net_cls', 'cgroup2'] as const)('CgroupProcs.writePids on %s', (hierarchy) => {
  it('moves live PIDs and answers one errno per PID in order: ESRCH for a dead one, EINVAL (not written) for pid <= 0', async () => {
    const dead = await deadPid();
    await withSleepers(hierarchy, 3, ([a, b, c], cg) => {
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        const errnos = procs.writePids(Int32Array.from([a!, dead, 0, b!, -5, c!]));
        expect(errnos).toBeInstanceOf(Int32Array);
        expect([...errnos]).toEqual([
          0,
          constants.errno.ESRCH,
          constants.errno.EINVAL,
          0,
          constants.errno.EINVAL,
          0,
        ]);
        expect(cg.pids().sort((x, y) => x - y)).toEqual([a!, b!, c!].sort((x, y) => x - y));
        // "0" would have moved this test process: it must still be outside.
        expect(cgroupOfPid(process.pid, hierarchy)).not.toBe(cg.name);
        expect([...procs.writePids(new Int32Array(0))]).toEqual([]);
      } finally {
        procs.close();
      }
    });
  });

  it('moves 1,000 live processes in one call', () =>
    withSleepers(hierarchy, 1000, (pids, cg) => {
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        const errnos = procs.writePids(Int32Array.from(pids));
        expect(errnos.length).toBe(1000);
        expect(errnos.every((e) => e === 0)).toBe(true);
        expect(cg.pids().sort((x, y) => x - y)).toEqual([...pids].sort((x, y) => x - y));
      } finally {
        procs.close();
      }
    }));

  it('refuses anything but an Int32Array before writing, and EBADF once closed', () =>
    withSleepers(hierarchy, 1, ([pid], cg) => {
      const procs = new addon.CgroupProcs(cg.dir);
      const writePids = procs.writePids.bind(procs) as unknown as (pids: unknown) => unknown;
      try {
        for (const bad of [[pid], Uint32Array.from([pid!]), Float64Array.from([pid!]), undefined]) {
          expect(() => writePids(bad)).toThrow(
            expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('Int32Array') }),
          );
        }
        expect(cg.pids()).toEqual([]);
        procs.close();
        expect(() => procs.writePids(Int32Array.from([pid!]))).toThrow(
          expect.objectContaining({ code: 'EBADF' }),
        );
        expect(cg.pids()).toEqual([]);
      } finally {
        procs.close();
      }
    }));
});

describe.each(['net_cls', 'cgroup2'] as const)('procCgroupPaths on %s', (hierarchy) => {
  it("answers each PID's path as /proc/PID/cgroup prints it, null for a dead PID and for pid <= 0", async () => {
    const dead = await deadPid();
    await withSleepers(hierarchy, 2, ([inside, outside], cg) => {
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        expect([...procs.writePids(Int32Array.from([inside!]))]).toEqual([0]);
      } finally {
        procs.close();
      }
      const paths = addon.procCgroupPaths(
        Int32Array.from([inside!, dead, outside!, 0, -1, process.pid]),
        controllersOf(hierarchy),
      );
      expect(paths).toEqual([
        cg.name,
        null,
        cgroupOfPid(outside!, hierarchy),
        null,
        null,
        cgroupOfPid(process.pid, hierarchy),
      ]);
    });
  });

  it('matches 1,000 PIDs with what JS reads from /proc itself', () =>
    withSleepers(hierarchy, 1000, (pids, cg) => {
      const half = pids.slice(0, 500);
      const procs = new addon.CgroupProcs(cg.dir);
      try {
        expect(procs.writePids(Int32Array.from(half)).every((e) => e === 0)).toBe(true);
      } finally {
        procs.close();
      }
      const paths = addon.procCgroupPaths(Int32Array.from(pids), controllersOf(hierarchy));
      expect(paths.slice(0, 500).every((p) => p === cg.name)).toBe(true);
      expect(paths).toEqual(pids.map((pid) => cgroupOfPid(pid, hierarchy)));
    }));
});

describe('procCgroupPaths hierarchy names', () => {
  it('matches a v1 controller list in any order, and answers null for a hierarchy the process file does not list', () => {
    const text = readFileSync('/proc/self/cgroup', 'utf8');
    // A multi-controller v1 line ("N:a,b:/path"), if this host has one, named the other way round.
    const multi = /^\d+:([^:=]+,[^:]+):(.*)$/m.exec(text);
    const pid = Int32Array.from([process.pid]);
    if (multi)
      expect(addon.procCgroupPaths(pid, multi[1]!.split(',').reverse().join(','))).toEqual([multi[2]]);
    expect(addon.procCgroupPaths(pid, 'net_cls')).toEqual([cgroupOfPid(process.pid, 'net_cls')]);
    expect(addon.procCgroupPaths(pid, 'no_such_controller')).toEqual([null]);
    expect(addon.procCgroupPaths(pid, 'net_cls,no_such_controller')).toEqual([null]);
  });

  it('refuses a pid list that is not an Int32Array and a non-string hierarchy', () => {
    const call = addon.procCgroupPaths as unknown as (...args: unknown[]) => unknown;
    expect(() => call([process.pid], '')).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('Int32Array') }),
    );
    expect(() => call(Int32Array.from([process.pid]))).toThrow(
      expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('controllers') }),
    );
  });
});

describe('Enroller with PIDs an Int32Array cannot hold', () => {
  it('reports EINVAL for them without writing any other process (no wrap-around), and moves the rest', () =>
    withSleepers('net_cls', 1, ([pid], cg) => {
      const e = new Enroller({ profiles: {} } as unknown as Config);
      try {
        // 2^32 + pid would wrap onto pid itself; 2^31 onto a negative number.
        const huge = 2 ** 32 + pid!;
        expect(e.enrollCgroup(cg.dir, [huge, 2 ** 31, pid!])).toEqual([
          { pid: huge, ok: false, code: 'EINVAL', errno: constants.errno.EINVAL },
          { pid: 2 ** 31, ok: false, code: 'EINVAL', errno: constants.errno.EINVAL },
          { pid, ok: true },
        ]);
        expect(cg.pids()).toEqual([pid]);
        expect(e.leave([pid!])).toEqual([{ pid, ok: true }]);
        expect(cg.pids()).toEqual([]);
      } finally {
        e.close();
      }
    }));
});
