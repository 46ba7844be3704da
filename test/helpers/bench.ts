// The e2e bench (topology + daemons + unique config); shared with `npm run demo`.
export { startBench, type Bench } from '../../src/demo/bench.js';
export {
  benchConfig,
  ECHO_PORT,
  NORMAL_DNS,
  PROBE_NAME,
  PROFILES,
  UNLOCATOR_DNS,
  type BenchNames,
} from '../../src/demo/config.js';
export { removeCgroupParent, profileCgroupDir } from '../../src/demo/cgroups.js';
export { echo, launch, member, outsider, resolve, type Launcher } from '../../src/demo/probes.js';
