// Rendering DesiredState as text for the nft backend (`nft -f`, `ip -batch`).
export { renderNftScript, renderNftTableScript, renderNftDelete } from './nft.js';
export { renderIpBatch, renderIpBatches, type IpOp } from './ip.js';
export { ruleText } from './decompile.js';
