// Per-packet cost: a member process (in a throwaway net_cls cgroup whose classid
// is one of the installed profiles) sends UDP datagrams over loopback; packets/s
// with a small and a large ruleset tell whether the cost grows with N.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKETS = 200_000;
const RUNS = 5;

/** The net_cls hierarchy's mount point, from /proc/self/mountinfo. */
export function netClsMount() {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    const [fstype, , options] = (post ?? '').split(' ');
    if (fstype === 'cgroup' && (options ?? '').split(',').includes('net_cls')) return pre.split(' ')[4];
  }
  throw new Error('bench: no net_cls cgroup hierarchy is mounted (see /proc/self/mountinfo)');
}

/** Compiles bench/sender.c into a temp dir; returns the binary's path. */
export function buildSender(track) {
  const dir = mkdtempSync(join(tmpdir(), 'netcg-bench-'));
  track(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dirname(fileURLToPath(import.meta.url)), 'sender.c');
  const bin = join(dir, 'sender');
  execFileSync('cc', ['-O2', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'] });
  return bin;
}

/**
 * A cgroup <net_cls>/netcg-bench-<unique>/member with `classid`; its removal is
 * tracked (tasks are moved back to the root first: rmdir refuses a populated cgroup).
 */
export function memberCgroup(classid, track) {
  const root = netClsMount();
  const parent = join(root, `netcg-bench-${process.pid}-${randomBytes(3).toString('hex')}`);
  const dir = join(parent, 'member');
  const remove = () => {
    for (const d of [dir, parent]) {
      try {
        for (const pid of readFileSync(join(d, 'tasks'), 'utf8').split('\n').filter(Boolean)) {
          try {
            writeFileSync(join(root, 'tasks'), pid);
          } catch {
            /* the task has exited */
          }
        }
        rmdirSync(d);
      } catch (err) {
        if (err.code !== 'ENOENT') throw err;
      }
    }
  };
  const untrack = track(remove);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'net_cls.classid'), String(classid));
  return {
    tasks: join(dir, 'tasks'),
    remove() {
      remove();
      untrack();
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function sendOnce(ns, sender, tasks) {
  const out = execFileSync('nsenter', [`--net=${ns.path}`, sender, tasks, String(PACKETS)], {
    encoding: 'utf8',
  });
  const [sent, nanos] = out.trim().split(' ').map(Number);
  if (sent !== PACKETS) throw new Error(`bench: sender sent ${sent} of ${PACKETS} packets`);
  return sent / (nanos / 1e9);
}

/**
 * Median packets/s for each target ({ ns, classid }), RUNS runs each. The targets'
 * runs are interleaved (A B A B ...) so that a drift in machine load hits them
 * alike and their ratio stays meaningful on a shared machine.
 */
export function packetsPerSecond(targets, sender, track) {
  const cgroups = [];
  try {
    for (const t of targets) cgroups.push(memberCgroup(t.classid, track));
    const rates = targets.map(() => []);
    for (let run = 0; run < RUNS; run++) {
      for (const [i, t] of targets.entries()) rates[i].push(sendOnce(t.ns, sender, cgroups[i].tasks));
    }
    return rates.map((runs) => ({ pps: median(runs), runs }));
  } finally {
    for (const cg of cgroups) cg.remove();
  }
}
