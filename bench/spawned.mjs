// The two ways of installing the same policy by spawning tools, each timed end to
// end (process start included, because that is the cost a caller pays):
//   - netcg's own ruleset rendered as an `nft -f` script plus `ip -batch` input;
//   - the recipe's way: one iptables/ip6tables/ip command per rule.
// Everything runs inside the bench namespace through nsenter (not `ip netns exec`,
// which remounts /sys).
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { renderIpBatches, renderNftTableScript } from '../dist/render/index.js';
import { classidOf, DNS_PORT, VIA } from './scenario.mjs';

function inNetns(ns, cmd, args, input) {
  try {
    execFileSync('nsenter', [`--net=${ns.path}`, cmd, ...args], {
      input,
      stdio: ['pipe', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
    });
  } catch (err) {
    throw new Error(`bench: ${cmd} ${args.join(' ')} failed: ${String(err.stderr ?? err.message).trim()}`);
  }
}

/** `nft -f -` with netcg's script, then `ip -4/-6 -batch -` with its routes and rules. Inputs are rendered before the clock starts. */
export function nftAndIpBatch(ns, desired) {
  const script = renderNftTableScript(desired.table);
  const ops = [
    ...desired.routes.map((route) => ({ verb: 'add', kind: 'route', route })),
    ...desired.ipRules.map((rule) => ({ verb: 'add', kind: 'rule', rule })),
  ];
  const batches = renderIpBatches(ops);
  const t0 = performance.now();
  inNetns(ns, 'nft', ['-f', '-'], script);
  for (const { args, input } of batches) inNetns(ns, 'ip', args, input);
  return { ms: performance.now() - t0, spawns: 1 + batches.length };
}

/** The recipe's commands for profile i: its own mark and routing table (= classid), as the article does it. */
export function recipeCommands(i) {
  const id = String(classidOf(i));
  const cg = ['-m', 'cgroup', '--cgroup', id];
  return [
    [
      'iptables',
      [
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        ...cg,
        '-p',
        'udp',
        '--dport',
        '53',
        '-j',
        'REDIRECT',
        '--to-ports',
        String(DNS_PORT),
      ],
    ],
    [
      'iptables',
      [
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        ...cg,
        '-p',
        'tcp',
        '--dport',
        '53',
        '-j',
        'REDIRECT',
        '--to-ports',
        String(DNS_PORT),
      ],
    ],
    ['ip6tables', ['-A', 'OUTPUT', ...cg, '-j', 'REJECT']],
    ['iptables', ['-t', 'mangle', '-A', 'OUTPUT', ...cg, '-j', 'MARK', '--set-mark', id]],
    ['ip', ['route', 'add', 'default', 'dev', VIA, 'table', id]],
    ['ip', ['rule', 'add', 'fwmark', id, 'table', id]],
    [
      'iptables',
      ['-t', 'nat', '-A', 'POSTROUTING', '-m', 'mark', '--mark', id, '-o', VIA, '-j', 'MASQUERADE'],
    ],
  ];
}

/**
 * Runs the recipe for n profiles, one process per command. Yields to the event
 * loop now and then so Ctrl-C / SIGTERM cleanup can run during a long loop.
 */
export async function recipe(ns, n) {
  let ms = 0;
  let spawns = 0;
  for (let i = 0; i < n; i++) {
    const cmds = recipeCommands(i);
    const t0 = performance.now();
    for (const [cmd, args] of cmds) inNetns(ns, cmd, args);
    ms += performance.now() - t0;
    spawns += cmds.length;
    if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
  }
  return { ms, spawns };
}
