// Where the bench's own node programs (echo-server, probe) are on disk. They run as
// separate processes inside namespaces and cgroups, so they must be plain JS: built
// (tsconfig.testbed.json, by scripts/setup.sh) they sit next to this module; when this
// module is loaded from test/testbed (vitest) we use the built copies in build-testbed/.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');

/** Repository (package) root. */
export const PACKAGE_ROOT = resolve(here, '..', '..');

export function benchScript(name: 'echo-server' | 'probe'): string {
  const path = fromSource
    ? join(PACKAGE_ROOT, 'build-testbed', 'testbed', `${name}.js`)
    : join(here, `${name}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (npm run build:testbed)`);
  return path;
}
