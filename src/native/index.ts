// Loads the native addon once and hands it the JS error class. Which file:
// NETCG_ADDON=/abs/path/netcg.node if set (scripts/test-sanitized.sh points it at
// the ASan+UBSan build), else what node-gyp-build picks in the package root (two
// levels above src/native and dist/native): build/Release/netcg.node where the
// addon was built from source (a checkout, or an install without a usable
// prebuild), else the prebuild for this system, prebuilds/linux-x64/netcg.glibc.node
// (scripts/prebuild.mjs). A failure to load is one NetcgError line that says what
// to do: a missing libnftnl/libmnl names the packages to install.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { NetcgError } from '../shared/errors.js';
import { NetlinkError } from './errors.js';
import type { NativeAddon, NetlinkHandle } from './types.js';

export { NetlinkError } from './errors.js';
export type * from './types.js';

const require = createRequire(import.meta.url);
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The shared libraries the addon links, and their packages (scripts/install.cjs says the same). */
const RUNTIME_LIBRARIES =
  'Debian, Ubuntu: apt-get install libnftnl11 libmnl0; Fedora: dnf install libnftnl libmnl';
const SOURCE_BUILD_NEEDS = 'g++, make, python3, pkg-config, libnftnl-dev and libmnl-dev';

function addonPath(): string {
  const override = process.env.NETCG_ADDON;
  if (override !== undefined && override !== '') return override;
  const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
  return nodeGypBuild.path(PACKAGE_ROOT);
}

/** One line for a user instead of a dlopen or node-gyp-build trace. */
function loadError(err: unknown, file: string | undefined): NetcgError {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  const lib = /\b(libnftnl\.so\.\d+|libmnl\.so\.\d+)\b/.exec(first)?.[1];
  if (lib !== undefined && /cannot open shared object file/.test(first))
    return new NetcgError(
      'ENOLIB',
      `netcg's native addon needs ${lib}, which is not installed (${RUNTIME_LIBRARIES})`,
      { cause: err },
    );
  if (file === undefined)
    return new NetcgError(
      'ENOADDON',
      `netcg has no native addon for this system (${first}); reinstall it to build one from source ` +
        `(needs ${SOURCE_BUILD_NEEDS})`,
      { cause: err },
    );
  const rebuild = file.includes('/prebuilds/')
    ? `; \`npm install -g netcg --build-from-source\` builds one for this system (needs ${SOURCE_BUILD_NEEDS})`
    : '';
  return new NetcgError('ENOADDON', `cannot load netcg's native addon ${file}: ${first}${rebuild}`, {
    cause: err,
  });
}

function load(): NativeAddon {
  let file: string | undefined;
  let mod: NativeAddon;
  try {
    file = addonPath();
    mod = require(file) as NativeAddon;
  } catch (err) {
    throw loadError(err, file);
  }
  mod.init({ NetlinkError });
  return mod;
}

export const addon: NativeAddon = load();

/** Opens a handle whose sockets live in the namespace at `netns` (e.g. /run/netns/x); default: ours. */
export function openHandle(netns?: string): NetlinkHandle {
  return new addon.NetlinkHandle(netns === undefined ? {} : { netns });
}
