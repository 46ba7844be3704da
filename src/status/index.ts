export * from './model.js';
export {
  buildStatus,
  computeRates,
  profileOfChain,
  profileOfChange,
  changeText,
  ruleRateKey,
  type StatusInput,
  type ProfileCgroupInfo,
} from './build.js';
export {
  formatStatus,
  humanBytes,
  compactCount,
  matchText,
  featuresText,
  type ScreenOptions,
} from './format.js';
export { collectStatus, profileCgroups } from './collect.js';
