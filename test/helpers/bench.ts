// The e2e bench (topology + daemons + unique config); shared with `npm run demo`.
export { startBench, type Bench } from '../testbed/bench.js';
export {
  benchConfig,
  ECHO_PORT,
  NORMAL_DNS,
  PROBE_NAME,
  PROFILES,
  UNLOCATOR_DNS,
  type BenchNames,
} from '../testbed/config.js';
export { removeCgroupParent, profileCgroupDir } from '../testbed/cgroups.js';
export { echo, launch, member, outsider, resolve, type Launcher } from '../testbed/probes.js';
