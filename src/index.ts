// netcg's library API: everything the CLI does, for programs (supervisors, VPN
// clients, CI runners) that want typed results instead of parsing output.
//
//   import { loadConfig, NetlinkBackend, diff, apply, down } from 'netcg';
//   const config = loadConfig('/etc/netcg/config.yaml');
//   const backend = new NetlinkBackend();          // or new NetlinkBackend('/run/netns/x')
//   try {
//     const { plan } = diff(config, backend);      // what would change (pure plan, read-only)
//     const report = apply(config, backend);       // execute exactly that, atomically
//   } finally {
//     backend.close();
//   }
export { loadConfig, parseConfig, configSchema, type Config } from './config/index.js';
export { compile } from './compile/index.js';
export {
  plan,
  isEmptyPlan,
  summarize,
  type Plan,
  type Change,
  type ChangeAction,
  type ChangeKind,
  type CurrentState,
  type PlanSummary,
} from './plan/plan.js';
export { formatPlan, planToJson, DIFF_JSON_VERSION, type PlanJson } from './plan/format.js';
export { tableFromDump } from './state/from-dump.js';
export {
  apply,
  diff,
  down,
  readState,
  MAX_ATTEMPTS,
  type ApplyReport,
  type DownReport,
} from './apply/apply.js';
export { Reconciler, type GenerationBackend, type ReadKind } from './apply/reconciler.js';
export { NetlinkBackend } from './backends/netlink.js';
export { NftBackend } from './backends/nft.js';
export type { Backend, BackendName, ReadState, RtnlOp, OwnedState, LinkInfo } from './backends/types.js';
export { NetcgError, ConfigError, type ConfigIssue } from './shared/errors.js';
export { NetlinkError } from './native/errors.js';
export { lockNamespace } from './apply/lock.js';
export * from './shared/model.js';
export { Enroller, openSocketCount, profileHierarchy, type EnrollResult } from './process/enroll.js';
export {
  spawn,
  spawnInCgroup,
  ProfileChildProcess,
  type SpawnOptions,
  type StdioOption,
} from './process/spawn.js';
export { WatchDaemon, runWatch, DEFAULT_DEBOUNCE_MS, type WatchOptions } from './watch/daemon.js';
export {
  jsonLogger,
  textLogger,
  WATCH_JSON_VERSION,
  type WatchRecord,
  type WatchLogger,
} from './watch/log.js';
