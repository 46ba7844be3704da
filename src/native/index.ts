// Loads the native addon once and hands it the JS error class. The compiled
// module sits at build/Release/netcg.node; this file lives in src/native (tests,
// tsx) or dist/native (built), both two levels below the package root.
// NETCG_ADDON=/abs/path/netcg.node loads another build of the same sources
// instead: scripts/test-sanitized.sh points it at the ASan+UBSan build.
import { createRequire } from 'node:module';

import { NetlinkError } from './errors.js';
import type { NativeAddon, NetlinkHandle } from './types.js';

export { NetlinkError } from './errors.js';
export type * from './types.js';

const require = createRequire(import.meta.url);

function load(): NativeAddon {
  const override = process.env['NETCG_ADDON'];
  const mod = require(
    override !== undefined && override !== '' ? override : '../../build/Release/netcg.node',
  ) as NativeAddon;
  mod.init({ NetlinkError });
  return mod;
}

export const addon: NativeAddon = load();

/** Opens a handle whose sockets live in the namespace at `netns` (e.g. /run/netns/x); default: ours. */
export function openHandle(netns?: string): NetlinkHandle {
  return new addon.NetlinkHandle(netns === undefined ? {} : { netns });
}
