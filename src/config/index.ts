// The config: its schema, loading with located errors, and the normalized type.
export { loadConfig, parseConfig, closestKey, locateKey, isCgroupFileName } from './load.js';
export {
  configSchema,
  DEFAULT_DNS_SERVER,
  type MatchKind,
  type Config,
  type ProfileConfig,
  type RouteConfig,
} from './schema.js';
export {
  AUTO_BASE,
  AUTO_SLOTS,
  AllocationError,
  allocate,
  allocationKey,
  candidate,
  isAutoNumber,
  withHostNumbers,
  type HostNumbers,
} from './allocate.js';
