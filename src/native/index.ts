// Loads the native addon once and hands it the JS error class. The compiled
// module sits at build/Release/netcg.node; this file lives in src/native (tests,
// tsx) or dist/native (built), both two levels below the package root.
import { createRequire } from 'node:module';

import { NetlinkError } from './errors.js';
import type { NativeAddon, NetlinkHandle } from './types.js';

export { NetlinkError } from './errors.js';
export type * from './types.js';

const require = createRequire(import.meta.url);

function load(): NativeAddon {
  const mod = require('../../build/Release/netcg.node') as NativeAddon;
  mod.init({ NetlinkError });
  return mod;
}

export const addon: NativeAddon = load();

/** Opens a handle whose sockets live in the namespace at `netns` (e.g. /run/netns/x); default: ours. */
export function openHandle(netns?: string): NetlinkHandle {
  return new addon.NetlinkHandle(netns === undefined ? {} : { netns });
}
