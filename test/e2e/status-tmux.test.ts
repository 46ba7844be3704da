// `netcg status --watch` driven like a person would: the real CLI in an 80x24
// tmux pane (its own tmux server, -L), a member sending DNS queries in a loop,
// the screen read back with capture-pane. Needs `npm run build:ts` first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cliOk, NETCG_CLI } from '../helpers/cli.js';
import { member, startBench, type Bench } from '../helpers/bench.js';
import { uniqueName } from '../helpers/netns.js';

let bench: Bench;
let chatter: ChildProcess | undefined;
const server = uniqueName('ncstmux');
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'watch').stdout;

async function waitFor(pred: (s: string) => boolean, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  let s = '';
  while (Date.now() < deadline) {
    s = screen();
    if (pred(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  return s;
}

/** The PKT/S column of the unlocator's `udp dport 53` row. */
function udpRate(s: string): number {
  const row = s.split('\n').find((l) => l.includes('udp dport 53 redirect'));
  const cols = row?.trim().split(/\s+/) ?? [];
  return Number(cols[cols.length - 2] ?? NaN);
}

beforeAll(async () => {
  bench = await startBench('ncw');
  cliOk(['apply', '-c', bench.configFile, '--netns', bench.topo.host.path]);
  // A member that keeps resolving, so counters and rates move while we watch.
  const [cmd, ...args] = member(
    bench.topo.host,
    bench.configFile,
    'unlocator',
  )([
    'sh',
    '-c',
    'while :; do dig +short +time=1 +tries=1 @127.0.0.1 example.test >/dev/null; sleep 0.1; done',
  ]);
  chatter = spawn(cmd!, args, { stdio: 'ignore', detached: true });
}, 60_000);

afterAll(async () => {
  if (chatter?.pid) {
    try {
      process.kill(-chatter.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  tmux('kill-server');
  const leftovers = await bench?.teardown();
  expect(leftovers ?? []).toEqual([]);
});

describe('netcg status --watch under tmux (80x24)', () => {
  it('refreshes in place with moving counters and rates, fits 80 columns, and q restores the terminal', async () => {
    // The exit status is written by a wrapping shell: tmux's own #{pane_dead_status} is
    // sometimes still empty when the pane is already reported dead, under load.
    const statusFile = join(tmpdir(), `${server}.status`);
    const cmd = `sh -c '${process.execPath} ${NETCG_CLI} status --watch -n 0.5 -c ${bench.configFile} --netns ${bench.topo.host.path}; echo $? > ${statusFile}'`;
    expect(tmux('new-session', '-d', '-s', 'watch', '-x', '80', '-y', '24', cmd).status).toBe(0);
    tmux('set-option', '-t', 'watch', 'remain-on-exit', 'on');

    const first = await waitFor((s) => s.includes('PKT/S') && udpRate(s) > 0, 15_000);
    expect(first, first).toContain('netcg status');
    // The loop's shell and, at times, its dig.
    expect(Number(/^unlocator · classid 42 · (\d+) members?/m.exec(first)?.[1])).toBeGreaterThanOrEqual(1);
    expect(first).toContain('dns → :5354 · ipv6 reject');
    expect(first).toMatch(/^vpn · classid 43 · 0 members/m);
    expect(first).toContain('via tun0 (up) table 43 mark 0x2b');
    expect(first).toContain('in sync');
    expect(udpRate(first)).toBeGreaterThan(0);
    for (const line of first.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(first.split('\n').length).toBeLessThanOrEqual(25);

    // Redrawn in place: the clock and the packet count change on the same screen.
    const packets = (s: string) =>
      Number(
        s
          .split('\n')
          .find((l) => l.includes('udp dport 53 redirect'))
          ?.trim()
          .split(/\s+/)
          .at(-4),
      );
    const later = await waitFor((s) => packets(s) > packets(first), 10_000);
    expect(packets(later)).toBeGreaterThan(packets(first));
    expect(later.match(/netcg status/g)).toHaveLength(1);

    tmux('send-keys', '-t', 'watch', 'q');
    const after = await waitFor((s) => !s.includes('netcg status'), 5_000);
    // Leaving the alternate screen brings back the (empty) normal screen.
    expect(after).not.toContain('netcg status');
    // And the process is gone, with exit status 0.
    const exitStatus = () => (existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : '');
    const deadline = Date.now() + 10_000;
    while (exitStatus() === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    try {
      expect(exitStatus()).toBe('0');
    } finally {
      rmSync(statusFile, { force: true });
    }
  });
});
