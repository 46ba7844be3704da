// The built CLI as an unprivileged user can run it. Tests that run `netcg` through
// setpriv need every directory above dist/bin/netcg.js to be searchable by others;
// a checkout under a 0700 directory (mktemp -d, /root) is not. Then the runtime —
// dist/, the addon, package.json and the runtime dependencies — is copied once
// into a world-readable temporary directory; otherwise the checkout is used as is.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { NETCG_CLI } from './cli.js';

const root = dirname(dirname(dirname(NETCG_CLI))); // <root>/dist/bin/netcg.js

function searchableByOthers(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

export interface UserCli {
  /** Path of main.js to run with node as another user. */
  cli: string;
  remove(): void;
}

export function cliForOtherUsers(): UserCli {
  if (searchableByOthers(dirname(NETCG_CLI))) return { cli: NETCG_CLI, remove() {} };
  const stage = mkdtempSync(join(tmpdir(), 'netcg-cli-'));
  chmodSync(stage, 0o755);
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    cpSync(join(root, 'package.json'), join(stage, 'package.json'));
    cpSync(join(root, 'dist'), join(stage, 'dist'), { recursive: true });
    cpSync(join(root, 'build', 'Release', 'netcg.node'), join(stage, 'build', 'Release', 'netcg.node'));
    for (const dep of Object.keys(pkg.dependencies ?? {}))
      cpSync(join(root, 'node_modules', dep), join(stage, 'node_modules', dep), { recursive: true });
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    throw err;
  }
  return {
    cli: join(stage, relative(root, NETCG_CLI)),
    remove: () => rmSync(stage, { recursive: true, force: true }),
  };
}
