export * from './model.js';
export { computeRates } from './build.js';
export { formatStatus } from './format.js';
export { collectStatus } from './collect.js';
