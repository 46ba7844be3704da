// Where an Enroller finds processes before a first enroll (src/process/enroll-origins.ts),
// on the real kernel: the cgroup listing and the per-PID /proc reads give the
// same answers as /proc/PID/cgroup read from JS, over a nested scratch tree in
// both hierarchies; the listing gives up past its budget; and a v1 process
// whose threads sit in two cgroups (listed twice) is placed by /proc, where the
// kernel reports its leader's cgroup.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { cgroupCount, cgroupDirsOf, listMembers } from '../../src/process/enroll-origins.js';
import {
  createScratchCgroup,
  cgroupOfPid,
  type Hierarchy,
  type ScratchCgroup,
} from '../fixtures/scratch-cgroup.js';
import { deadPid } from '../helpers/processes.js';

async function started(list: ChildProcess[]): Promise<ChildProcess[]> {
  await Promise.all(list.map((c) => once(c, 'spawn')));
  return list;
}

const sleepers = (n: number) =>
  started(Array.from({ length: n }, () => spawn('sleep', ['600'], { stdio: 'ignore' })));

/** A scratch cgroup with a child and a grandchild; the sub-cgroups are emptied and removed before it. */
async function withTree<T>(
  h: Hierarchy,
  fn: (cg: ScratchCgroup, sub: string, subsub: string) => T | Promise<T>,
): Promise<T> {
  const cg = createScratchCgroup(h);
  const sub = join(cg.dir, 'sub');
  const subsub = join(sub, 'subsub');
  try {
    mkdirSync(subsub, { recursive: true });
    return await fn(cg, sub, subsub);
  } finally {
    for (const dir of [subsub, sub]) {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(cg.root, 'cgroup.procs'), pid);
        } catch {
          /* exited */
        }
      }
    }
    removeTree(subsub, sub);
    cg.remove();
  }
}

function removeTree(...dirs: string[]): void {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt > 50) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  }
}

const keyOf = (h: Hierarchy) => (h === 'cgroup2' ? '' : 'net_cls');

describe.each(['net_cls', 'cgroup2'] as const)('origins on %s', (hierarchy) => {
  it('listing and per-PID reads agree with /proc/PID/cgroup for 300 PIDs spread over a nested tree; a dead PID is undefined', async () => {
    const dead = await deadPid();
    const list = await sleepers(300);
    try {
      await withTree(hierarchy, (cg, sub, subsub) => {
        const pids = list.map((c) => c.pid!);
        pids.forEach((pid, i) => {
          const dest = [cg.root, cg.dir, sub, subsub][i % 4]!;
          if (dest !== cg.root) writeFileSync(join(dest, 'cgroup.procs'), String(pid));
        });
        const all = [...pids, dead];
        const expected = all.map((pid) => {
          const path = pid === dead ? undefined : cgroupOfPid(pid, hierarchy);
          return path === undefined ? undefined : path === '/' ? cg.root : join(cg.root, path);
        });
        expect(expected.filter((d) => d === subsub)).toHaveLength(75);

        const listed = listMembers(cg.root, new Set(all), 1_000_000);
        expect(listed).toBeDefined();
        expect(all.map((pid) => listed!.get(pid))).toEqual(expected);
        expect(cgroupDirsOf(cg.root, keyOf(hierarchy), all)).toEqual(expected);
        expect(cgroupDirsOf(cg.root, keyOf(hierarchy), all, 'never')).toEqual(expected);
      });
    } finally {
      for (const c of list) c.kill('SIGKILL');
    }
  });

  it("cgroupCount is the kernel's count of the hierarchy's cgroups (the directories a walk finds; v1 also counts removed ones not yet released)", () =>
    withTree(hierarchy, async (cg) => {
      const dirs = (dir: string): number =>
        1 +
        readdirSync(dir, { withFileTypes: true }).reduce(
          (n, e) => n + (e.isDirectory() ? dirs(join(dir, e.name)) : 0),
          0,
        );
      // Other tests create and remove cgroups meanwhile: compare at a moment the count held still.
      const settled = (c: [number | undefined, number, number | undefined]) =>
        c[0] === c[2] && (hierarchy === 'cgroup2' ? c[0] === c[1] : c[0]! >= c[1]);
      let last: [number | undefined, number, number | undefined] | undefined;
      for (let attempt = 0; attempt < 40; attempt++) {
        last = [
          cgroupCount(cg.root, keyOf(hierarchy)),
          dirs(cg.root),
          cgroupCount(cg.root, keyOf(hierarchy)),
        ];
        if (settled(last)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (hierarchy === 'cgroup2') expect(last![0]).toBe(last![1]);
      else expect(last![0]).toBeGreaterThanOrEqual(last![1]);
      expect(last![1]).toBeGreaterThanOrEqual(4); // the root and the scratch tree's three
    }));

  it('the listing gives up past its cgroup budget (the caller then reads per PID)', () =>
    withTree(hierarchy, (cg) => {
      expect(listMembers(cg.root, new Set([process.pid]), 1)).toBeUndefined();
      // Within budget: a subtree of three cgroups.
      expect(listMembers(cg.dir, new Set([process.pid]), 3)).toEqual(new Map());
    }));
});

describe('origins of a v1 process whose threads are in two cgroups', () => {
  it('the listing sees it in both (null) and cgroupDirsOf places it where /proc/PID/cgroup says (its leader)', async () => {
    // A process with several threads: node always starts some (V8 platform, libuv pool).
    const [proc] = await started([
      spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }),
    ]);
    const pid = proc!.pid!;
    try {
      // Its threads appear while it starts up.
      for (let i = 0; i < 200 && readdirSync(`/proc/${pid}/task`).length < 2; i++)
        await new Promise((r) => setTimeout(r, 10));
      await withTree('net_cls', (cg, sub) => {
        writeFileSync(join(cg.dir, 'cgroup.procs'), String(pid));
        // Move one thread that is not the leader into `sub`: v1 allows it through `tasks`.
        const tid = readdirSync(`/proc/${pid}/task`)
          .map(Number)
          .find((t) => t !== pid)!;
        expect(tid).toBeGreaterThan(0);
        writeFileSync(join(sub, 'tasks'), String(tid));
        // The scratch subtree only: other tests add and remove cgroups elsewhere meanwhile.
        const listed = listMembers(cg.dir, new Set([pid]), 1_000_000);
        expect(listed?.get(pid)).toBeNull();
        expect(cgroupDirsOf(cg.root, 'net_cls', new Array(40).fill(pid))).toEqual(new Array(40).fill(cg.dir));
      });
    } finally {
      proc!.kill('SIGKILL');
    }
  });
});

describe('the cgroup listing and mounts', () => {
  // In a private mount namespace (unshare -m) so the host's mounts stay as they are; the listing runs
  // there from dist/ (npm run build:ts first, as for the CLI tests).
  it('does not descend into another hierarchy mounted on a cgroup directory', async () => {
    const origins = fileURLToPath(new URL('../../dist/process/enroll-origins.js', import.meta.url));
    const script = `const { listMembers } = await import(${JSON.stringify(origins)});
      const m = listMembers(process.argv[1], new Set([Number(process.argv[2])]), 1e6);
      process.stdout.write(JSON.stringify(m ? [...m] : null));`;
    const [sleeper] = await sleepers(1);
    try {
      await withTree('net_cls', (cg, sub) => {
        writeFileSync(join(cg.dir, 'cgroup.procs'), String(sleeper!.pid));
        // The whole cgroup2 tree appears under `sub`: followed, it would place the sleeper there too.
        const r = spawnSync(
          'unshare',
          [
            '-m',
            '--propagation',
            'private',
            'sh',
            '-c',
            'mount -t cgroup2 none "$0" && exec "$1" --input-type=module -e "$2" "$3" "$4"',
            sub,
            process.execPath,
            script,
            cg.dir,
            String(sleeper!.pid),
          ],
          { encoding: 'utf8' },
        );
        expect(r.stderr).toBe('');
        expect(JSON.parse(r.stdout)).toEqual([[sleeper!.pid, cg.dir]]);
      });
    } finally {
      sleeper!.kill('SIGKILL');
    }
  });
});
