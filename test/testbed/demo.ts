// `npm run demo`: the seed scenario with real packets, in throwaway namespaces.
// Builds the bench (host, lan and vpn namespaces; two resolvers; echo gateways),
// applies the recipe's config with `netcg apply --netns`, runs the same probes
// outside any profile and as members, prints them side by side, and always cleans up.
import pc from 'picocolors';
import { startBench, type Bench } from './bench.js';
import { ECHO_PORT, NORMAL_DNS, UNLOCATOR_DNS } from './config.js';
import { echo, launch, member, outsider, resolve, NETCG_CLI, type Launcher } from './probes.js';
import { FAR, LAN, VPN } from './topology.js';

interface Column {
  title: string;
  launcher: Launcher;
}

interface Row {
  label: string;
  probe: (l: Launcher) => string;
}

const dnsLabel = (answer: string) =>
  answer === UNLOCATOR_DNS.answer
    ? `${answer} (:${UNLOCATOR_DNS.port})`
    : answer === NORMAL_DNS.answer
      ? `${answer} (:${NORMAL_DNS.port})`
      : 'no answer';

const rows: Row[] = [
  { label: 'DNS, UDP to 127.0.0.1', probe: (l) => dnsLabel(resolve(l, { server: '127.0.0.1' }).answer) },
  {
    label: 'DNS, TCP to 127.0.0.1',
    probe: (l) => dnsLabel(resolve(l, { server: '127.0.0.1', tcp: true }).answer),
  },
  {
    label: `DNS, UDP to ${LAN.gatewayV4} (no server)`,
    probe: (l) => dnsLabel(resolve(l, { server: LAN.gatewayV4 }).answer),
  },
  {
    label: 'IPv6: TCP to [::1]',
    probe: (l) => {
      const r = echo(l, 'tcp', '::1', ECHO_PORT);
      return r.gateway ? 'connected' : `failed (${r.error})`;
    },
  },
  ...(
    [
      ['tcp', FAR.v4],
      ['udp', FAR.v4],
      ['tcp', FAR.v6],
    ] as const
  ).map(([proto, far]) => ({
    label: `${proto.toUpperCase()} to ${far}: gateway, source`,
    probe: (l: Launcher) => {
      const r = echo(l, proto, far, ECHO_PORT);
      return r.gateway ? `${r.gateway}, from ${r.source}` : `failed (${r.error})`;
    },
  })),
];

function printTable(columns: Column[]): void {
  const cells = rows.map((row) => [row.label, ...columns.map((c) => row.probe(c.launcher))]);
  const header = ['probe', ...columns.map((c) => c.title)];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[], style = (s: string) => s) =>
    r
      .map((s, i) => style(s.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header, pc.bold));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('netcg demo: run as root (it creates network namespaces and cgroups).');
    return 1;
  }
  let bench: Bench | undefined;
  const cleanup = async () => {
    const leftovers = (await bench?.teardown()) ?? [];
    bench = undefined;
    for (const l of leftovers) console.error(pc.yellow(`could not remove ${l}`));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    console.log(pc.dim('building throwaway namespaces, resolvers and gateways...'));
    bench = await startBench('ncdemo');
    const { host } = bench.topo;
    console.log(
      `host namespace ${pc.bold(host.name)}: default route via ${LAN.hostDev} to the "lan" gateway; ${VPN.hostDev} (a veth) leads to the "vpn" gateway.\n` +
        `Resolvers on 127.0.0.1: :${NORMAL_DNS.port} answers ${NORMAL_DNS.answer}, :${UNLOCATOR_DNS.port} answers ${UNLOCATOR_DNS.answer}.\n`,
    );
    const apply = launch(outsider(host), [
      process.execPath,
      NETCG_CLI,
      'apply',
      '-c',
      bench.configFile,
      '--netns',
      host.path,
    ]);
    if (apply.code !== 0) {
      console.error(pc.red(`netcg apply failed (exit ${apply.code}):\n${apply.stdout}${apply.stderr}`));
      return 1;
    }
    console.log(`${pc.bold('$ netcg apply')} -c ${bench.configFile} --netns ${host.path}\n${apply.stdout}`);
    printTable([
      { title: 'outside any profile', launcher: outsider(host) },
      { title: 'netcg run unlocator', launcher: member(host, bench.configFile, 'unlocator') },
      { title: 'netcg run vpn', launcher: member(host, bench.configFile, 'vpn') },
    ]);
    console.log(
      `\n${pc.bold('What netcg installed')} (nft list table inet ${bench.names.table}):\n${host.nft('list', 'table', 'inet', bench.names.table)}`,
    );
    return 0;
  } finally {
    await cleanup();
    console.log(pc.dim('namespaces, daemons and cgroups removed.'));
  }
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(pc.red(`netcg demo failed: ${err instanceof Error ? err.message : String(err)}`));
  return 1;
});
