// The whole bench in one call: topology, the two resolvers in the host namespace,
// the echo gateways, a unique config file; and one teardown that undoes all of it
// (daemons, namespaces, profile cgroups, temp files), even after a failed start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeCgroupParent } from './cgroups.js';
import {
  benchConfig,
  ECHO_PORT,
  NORMAL_DNS,
  PROBE_NAME,
  UNLOCATOR_DNS,
  type BenchMatch,
  type BenchNames,
} from './config.js';
import { DaemonSet } from './daemons.js';
import { uniqueName } from './netns.js';
import { buildTopology, type Topology } from './topology.js';

export interface Bench {
  topo: Topology;
  names: BenchNames;
  /** The YAML config written for this run (see config.ts). */
  configFile: string;
  daemons: DaemonSet;
  /** Stops and removes everything; returns leftovers it could not remove (empty when clean). Never throws. */
  teardown(): Promise<string[]>;
}

/** `match` is written into both profiles (see benchConfig); the default config leaves it out. */
export async function startBench(prefix = 'nc', match?: BenchMatch): Promise<Bench> {
  const names: BenchNames = { table: uniqueName(`${prefix}t`), cgroupParent: uniqueName(`${prefix}cg`) };
  const dir = mkdtempSync(join(tmpdir(), 'netcg-bench-'));
  const daemons = new DaemonSet();
  let topo: Topology | undefined;
  const teardown = async () => {
    await daemons.stopAll();
    topo?.remove();
    rmSync(dir, { recursive: true, force: true });
    return removeCgroupParent(names.cgroupParent);
  };
  try {
    topo = buildTopology(prefix);
    const configFile = join(dir, 'netcg.yaml');
    writeFileSync(configFile, benchConfig(names, match));
    await daemons.dnsmasq(topo.host, NORMAL_DNS.port, { [PROBE_NAME]: NORMAL_DNS.answer });
    await daemons.dnsmasq(topo.host, UNLOCATOR_DNS.port, { [PROBE_NAME]: UNLOCATOR_DNS.answer });
    await daemons.echo(topo.lan, 'lan', ECHO_PORT);
    await daemons.echo(topo.vpn, 'vpn', ECHO_PORT);
    // The host's own [::1] listener for the IPv6 probe.
    await daemons.echo(topo.host, 'host', ECHO_PORT);
    return { topo, names, configFile, daemons, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}
