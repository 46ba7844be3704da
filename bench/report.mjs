// Turns the collected measurements into the three outputs: a plain-text table for
// the terminal, results.csv (one row per measurement, with every sample), and
// results.md (the same tables in markdown, the targets, and the machine).

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export const MEASURES = {
  fresh_netlink_ms: 'fresh apply, netlink backend (in-process)',
  fresh_nft_ip_ms: 'fresh apply, nft -f + ip -batch (spawned)',
  fresh_recipe_ms: 'fresh apply, recipe: one iptables/ip6tables/ip process per rule',
  noop_reapply_ms: 'no-op re-apply: compile + dump + plan (plan asserted empty)',
  add_one_ms: 'add one profile: compile + dump + plan + send the plan',
  add_one_nft_ops: 'nf_tables messages sent when adding one profile',
  rss_apply_mib: 'peak RSS of a fresh node process after its fresh apply',
  rss_worker_mib: 'peak RSS of that process over apply + re-applies + add-one',
  config_parse_ms: 'parse + validate the N-profile config (not part of the apply times)',
  fresh_compile_ms: 'fresh apply, phase: compile (config → desired state, incl. host facts)',
  fresh_read_ms: 'fresh apply, phase: readState of the empty namespace',
  fresh_plan_ms: 'fresh apply, phase: plan from nothing',
  fresh_send_ms: 'fresh apply, phase: send (rtnetlink ops + one nf_tables batch: encode, send, kernel)',
  lib_apply_ms: 'library apply() into a fresh namespace, incl. lock and N profile cgroups',
  lib_reapply_ms: 'library apply() again, nothing to change (lock, cgroup checks, diff)',
  noop_compile_ms: 'no-op re-apply, phase: compile (config → desired state, incl. host facts)',
  noop_read_ms: 'no-op re-apply, phase: read back (nf_tables dump + tableFromDump + ip rule/route dumps)',
  noop_plan_ms: 'no-op re-apply, phase: plan(current, desired)',
  add_one_compile_ms: 'add one profile, phase: compile',
  add_one_read_ms: 'add one profile, phase: read back',
  add_one_plan_ms: 'add one profile, phase: plan',
  add_one_send_ms: 'add one profile, phase: send the plan (nf_tables batch + rtnetlink ops)',
  rec_noop_diff_ms:
    'library Reconciler, same process: no-op Reconciler.diff() from memory (compile + GETGEN + rtnl dumps + plan)',
  rec_noop_apply_ms:
    'library Reconciler, same process: no-op Reconciler.apply() from memory (incl. lock and N cgroup checks)',
  rec_add_one_ms:
    'library Reconciler, same process: add profile N+1 from memory, kernel part (Reconciler.diff() + send the plan)',
  rec_add_one_diff_ms:
    'library Reconciler add one, phase: Reconciler.diff() (compile + GETGEN + rtnl dumps + plan)',
  rec_add_one_send_ms: 'library Reconciler add one, phase: send the plan',
  rec_add_one_nft_ops: 'nf_tables messages sent by the Reconciler when adding one profile',
  rec_add_one_apply_ms:
    'library Reconciler, same process: Reconciler.apply() adding profiles N+2..N+6 one per call, median (incl. lock, cgroup checks, the new cgroup)',
  pps: 'UDP packets/s sent over loopback by a member of the last profile',
};

export function fmtMs(ms) {
  if (ms === undefined) return '–';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toLocaleString('en-US');
}

const fmtN = (n) => n.toLocaleString('en-US');
const fmtPct = (x) => (x === undefined ? '–' : `${(x * 100).toFixed(0)} %`);

export function lookup(rows, n, measure, method) {
  return rows.find((r) => r.n === n && r.measure === measure && (method === undefined || r.method === method))
    ?.value;
}

/** The main table: one line per N. */
export function mainTable(rows, sizes) {
  const header = [
    'N',
    'netlink apply (ms)',
    'nft -f + ip -batch (ms)',
    'recipe, 1 process/rule (ms)',
    'no-op re-apply (ms)',
    're-apply / apply',
    'add one profile (ms)',
    'library apply() incl. cgroups / again (ms)',
    'peak RSS apply / whole run (MiB)',
  ];
  const lines = sizes.map((n) => {
    const fresh = lookup(rows, n, 'fresh_netlink_ms');
    const noop = lookup(rows, n, 'noop_reapply_ms');
    const rssA = lookup(rows, n, 'rss_apply_mib');
    const rssW = lookup(rows, n, 'rss_worker_mib');
    return [
      fmtN(n),
      fmtMs(fresh),
      fmtMs(lookup(rows, n, 'fresh_nft_ip_ms')),
      lookup(rows, n, 'fresh_recipe_ms') === undefined
        ? 'not run (N > 1,000)'
        : fmtMs(lookup(rows, n, 'fresh_recipe_ms')),
      fmtMs(noop),
      fresh && noop !== undefined ? fmtPct(noop / fresh) : '–',
      fmtMs(lookup(rows, n, 'add_one_ms')),
      `${fmtMs(lookup(rows, n, 'lib_apply_ms'))} / ${fmtMs(lookup(rows, n, 'lib_reapply_ms'))}`,
      rssA === undefined ? '–' : `${rssA.toFixed(0)} / ${rssW.toFixed(0)}`,
    ];
  });
  return { header, lines };
}

/** The long-lived Reconciler next to the one-shot path (a fresh process per CLI run), for the two repeated operations. */
export function reconcilerTable(rows, sizes) {
  const header = [
    'N',
    'fresh apply (ms)',
    'no-op, one-shot diff steps (ms)',
    'no-op, Reconciler diff steps (ms)',
    'Reconciler / fresh apply',
    'no-op, one-shot apply() again (ms)',
    'no-op, Reconciler.apply() (ms)',
    'add one, one-shot kernel part (ms)',
    'add one, Reconciler kernel part (ms)',
    'add one, Reconciler.apply() (ms)',
  ];
  const lines = sizes.map((n) => {
    const fresh = lookup(rows, n, 'fresh_netlink_ms');
    const rec = lookup(rows, n, 'rec_noop_diff_ms');
    return [
      fmtN(n),
      fmtMs(fresh),
      fmtMs(lookup(rows, n, 'noop_reapply_ms')),
      fmtMs(rec),
      fresh && rec !== undefined ? fmtPct(rec / fresh) : '–',
      fmtMs(lookup(rows, n, 'lib_reapply_ms')),
      fmtMs(lookup(rows, n, 'rec_noop_apply_ms')),
      fmtMs(lookup(rows, n, 'add_one_ms')),
      fmtMs(lookup(rows, n, 'rec_add_one_ms')),
      fmtMs(lookup(rows, n, 'rec_add_one_apply_ms')),
    ];
  });
  return { header, lines };
}

/** Where the apply, re-apply and add-one time goes, phase by phase (medians). */
export function phaseTable(rows, sizes) {
  const header = [
    'N',
    'apply: compile',
    'apply: plan',
    'apply: send',
    're-apply: compile',
    're-apply: read back',
    're-apply: plan',
    'add one: compile',
    'add one: read back',
    'add one: plan',
    'add one: send',
    'add one: nf_tables msgs',
  ];
  const lines = sizes.map((n) => [
    fmtN(n),
    ...[
      'fresh_compile_ms',
      'fresh_plan_ms',
      'fresh_send_ms',
      'noop_compile_ms',
      'noop_read_ms',
      'noop_plan_ms',
      'add_one_compile_ms',
      'add_one_read_ms',
      'add_one_plan_ms',
      'add_one_send_ms',
    ].map((m) => fmtMs(lookup(rows, n, m))),
    String(lookup(rows, n, 'add_one_nft_ops') ?? '–'),
  ]);
  return { header, lines };
}

/** Per-packet table: one line per ruleset. */
export function packetTable(rows) {
  const header = ['ruleset', 'profiles installed', 'member classid', 'packets/s (median)', 'vs. 1 profile'];
  const pps = rows.filter((r) => r.measure === 'pps');
  const lines = pps.map((r) => {
    const base = pps.find((b) => b.method === r.method && b.n === 1);
    return [
      r.method,
      fmtN(r.n),
      String(r.classid ?? '–'),
      Math.round(r.value).toLocaleString('en-US'),
      base && r.n !== 0 ? (r.value / base.value).toFixed(2) : '–',
    ];
  });
  return { header, lines };
}

export function textTable({ header, lines }) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [row(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(row)].join('\n');
}

export function markdownTable({ header, lines }) {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ].join('\n');
}

export function csv(rows) {
  const q = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const head = 'n,method,measure,value,unit,samples,description';
  const body = rows.map((r) =>
    [
      r.n,
      r.method,
      r.measure,
      Number.isInteger(r.value) ? r.value : r.value.toFixed(3),
      r.unit,
      (r.samples ?? []).map((s) => (Number.isInteger(s) ? s : s.toFixed(3))).join(' '),
      MEASURES[r.measure] ?? '',
    ]
      .map(q)
      .join(','),
  );
  return `${[head, ...body].join('\n')}\n`;
}

/** The issue's targets, each with the measured value and whether it is met. */
export function targets(rows, sizes) {
  const big = Math.max(...sizes);
  const out = [];
  const fresh = lookup(rows, big, 'fresh_netlink_ms');
  const nft = lookup(rows, big, 'fresh_nft_ip_ms');
  if (fresh !== undefined && nft !== undefined)
    out.push({
      target: `fresh apply through netlink at N=${fmtN(big)} ≤ nft -f + ip -batch`,
      measured: `${fmtMs(fresh)} ms vs ${fmtMs(nft)} ms`,
      met: fresh <= nft,
    });
  const noop = lookup(rows, big, 'noop_reapply_ms');
  if (fresh !== undefined && noop !== undefined)
    out.push({
      target: `no-op re-apply < 20 % of a fresh apply (N=${fmtN(big)}), one-shot`,
      measured: fmtPct(noop / fresh),
      met: noop < 0.2 * fresh,
    });
  const recNoop = lookup(rows, big, 'rec_noop_diff_ms');
  if (fresh !== undefined && recNoop !== undefined)
    out.push({
      target: `no-op re-apply < 20 % of a fresh apply (N=${fmtN(big)}), library Reconciler, same process (diff steps)`,
      measured: fmtPct(recNoop / fresh),
      met: recNoop < 0.2 * fresh,
    });
  const recNoopApply = lookup(rows, big, 'rec_noop_apply_ms');
  if (fresh !== undefined && recNoopApply !== undefined)
    out.push({
      target: `no-op re-apply < 20 % of a fresh apply (N=${fmtN(big)}), library Reconciler.apply() incl. cgroup checks`,
      measured: fmtPct(recNoopApply / fresh),
      met: recNoopApply < 0.2 * fresh,
    });
  const add = lookup(rows, big, 'add_one_ms');
  if (add !== undefined)
    out.push({
      target: `adding one profile at N=${fmtN(big)} < 50 ms, one-shot`,
      measured: `${fmtMs(add)} ms`,
      met: add < 50,
    });
  const recAdd = lookup(rows, big, 'rec_add_one_ms');
  if (recAdd !== undefined)
    out.push({
      target: `adding one profile at N=${fmtN(big)} < 50 ms, library Reconciler, same process (kernel part)`,
      measured: `${fmtMs(recAdd)} ms`,
      met: recAdd < 50,
    });
  const recAddApply = lookup(rows, big, 'rec_add_one_apply_ms');
  if (recAddApply !== undefined)
    out.push({
      target: `adding one profile at N=${fmtN(big)} < 50 ms, library Reconciler.apply() incl. cgroup checks`,
      measured: `${fmtMs(recAddApply)} ms`,
      met: recAddApply < 50,
    });
  const pps = rows.filter((r) => r.measure === 'pps' && r.method === 'netcg');
  const small = pps.find((r) => r.n === 1);
  const large = pps.find((r) => r.n !== 1);
  if (small && large)
    out.push({
      target: `packets/s with ${fmtN(large.n)} profiles ≥ 0.9 × with 1`,
      measured: (large.value / small.value).toFixed(2),
      met: large.value / small.value >= 0.9,
    });
  return out;
}

export function markdown({ rows, sizes, machine, command, notes }) {
  const t = targets(rows, sizes);
  return `# netcg benchmarks

Produced by \`${command}\` on ${machine.date}. Raw numbers, with every sample:
[results.csv](results.csv). Chart: [chart.svg](chart.svg).

![time against N, log-log](chart.svg)

## Apply, re-apply, add one, memory

Times are medians over repeated runs, each fresh apply into a fresh network namespace
(samples per N in the CSV).

${markdownTable(mainTable(rows, sizes))}

### One-shot against the library Reconciler (same process)

The one-shot path is what every \`netcg apply\` CLI run does (a fresh process reads
everything back). The Reconciler is the long-lived library object a supervisor keeps.

${markdownTable(reconcilerTable(rows, sizes))}

### Where the time goes (ms, medians)

${markdownTable(phaseTable(rows, sizes))}

## Per-packet cost

${markdownTable(packetTable(rows))}

## Targets (issue 3)

| target | measured | met |
|---|---:|:---:|
${t.map((x) => `| ${x.target} | ${x.measured} | ${x.met ? 'yes' : '**no**'} |`).join('\n')}

## What each column measures

${notes.map((n) => `- ${n}`).join('\n')}

## Machine

- CPUs (\`nproc\`): ${machine.nproc}${machine.cpu ? ` — ${machine.cpu}` : ''}
- kernel: ${machine.kernel}
- node: ${machine.node}
- load average when the run started: ${machine.loadavg} (the machine may be shared; numbers move with it)
`;
}
