// nft has no text for a cgroup2 ID: `socket cgroupv2` values are written (and
// listed) as a cgroup path relative to /sys/fs/cgroup, which nft turns into the
// ID by stat(2)ing it (nftables' cgroupv2 datatype). To render a map element
// whose key is an ID, the nft backend therefore has to find the directory with
// that ID, the way `nft list` does when it prints one: a walk comparing each
// directory's ID (addon.cgroupId, the one reader of IDs) finds it.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

import { NetcgError } from '../shared/errors.js';
import { findCgroup2Mount, readCgroupMounts } from '../cgroups/mountinfo.js';
import { addon } from '../native/index.js';

/** Where nft resolves `socket cgroupv2` paths (fixed in nftables: SYSFS_CGROUPSV2_PATH). */
export const NFT_CGROUPV2_BASE = '/sys/fs/cgroup';

function findById(dir: string, id: bigint): string | undefined {
  let children: string[];
  try {
    if (addon.cgroupId(dir) === id) return dir;
    children = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return undefined; // removed while walking
  }
  for (const child of children) {
    const hit = findById(join(dir, child), id);
    if (hit) return hit;
  }
  return undefined;
}

/** The path nft accepts for the cgroup2 cgroup with `id`, e.g. "unified/netcg/vpn" on a hybrid host. */
export function nftCgroupV2Path(
  id: bigint,
  mountPoint = findCgroup2Mount(readCgroupMounts())?.mountPoint,
): string {
  if (!mountPoint)
    throw new NetcgError(
      'ERENDER',
      'no cgroup2 hierarchy is mounted, so a cgroup2 ID cannot be named for nft',
    );
  const rel = relative(NFT_CGROUPV2_BASE, mountPoint);
  if (rel.startsWith('..'))
    throw new NetcgError(
      'ERENDER',
      `the cgroup2 hierarchy is mounted at ${mountPoint}, outside ${NFT_CGROUPV2_BASE}, where nft cannot name its cgroups; use the netlink backend`,
    );
  const dir = findById(mountPoint, id);
  if (!dir)
    throw new NetcgError(
      'ERENDER',
      `no cgroup with ID ${id} under ${mountPoint} (removed?); nft can only name existing cgroups`,
    );
  return relative(NFT_CGROUPV2_BASE, dir);
}
