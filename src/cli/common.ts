// What the commands' actions share (loaded only when a command runs): which backend
// to use, and how results are printed (--json for programs). Errors: report.ts.
import type { Backend, BackendName } from '../backends/types.js';
import { NetlinkBackend } from '../backends/netlink.js';
import { NftBackend } from '../backends/nft.js';
import { NetcgError } from '../shared/errors.js';

export function openBackend(name: string, netns: string | undefined): Backend {
  const backend = name as BackendName;
  if (backend === 'netlink') return new NetlinkBackend(netns);
  if (backend === 'nft') return new NftBackend(netns);
  throw new NetcgError('EUSAGE', `unknown backend '${name}': use netlink (default) or nft`);
}

export function withBackend<T>(name: string, netns: string | undefined, fn: (b: Backend) => T): T {
  const backend = openBackend(name, netns);
  try {
    return fn(backend);
  } finally {
    backend.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v), 2)}\n`,
  );
}
