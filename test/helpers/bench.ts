// The e2e bench (topology + daemons + unique config); shared with `npm run demo`.
export { startBench, type Bench } from '../testbed/bench.js';
export {
  ECHO_PORT,
  NORMAL_DNS,
  PROFILES,
  UNLOCATOR_DNS,
} from '../testbed/config.js';
export { profileCgroupDir } from '../testbed/cgroups.js';
export { echo, launch, member, outsider, resolve, type Launcher } from '../testbed/probes.js';
