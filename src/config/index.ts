// The config: its schema, loading with located errors, and the normalized type.
export { loadConfig, parseConfig, closestKey, locateKey, isCgroupFileName } from './load.js';
export {
  configSchema,
  profileSchema,
  routeSchema,
  dnsSchema,
  parseClassid,
  DEFAULT_TABLE,
  DEFAULT_CGROUP_PARENT,
  DEFAULT_IP_RULE_PRIORITY,
  DEFAULT_COPY_LINK_ROUTES,
  DEFAULT_MASQUERADE,
  PROFILE_NAME_RE,
  MATCH_KINDS,
  DEFAULT_MATCH,
  type MatchKind,
  type Config,
  type ProfileConfig,
  type RouteConfig,
  type RawConfig,
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
