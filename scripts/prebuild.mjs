// The prebuilt addon the npm package ships (npm pack runs this in prepack):
// prebuilds/linux-<arch>/netcg.glibc.node, built by prebuildify for N-API (one
// file for every Node version netcg supports), stripped, against this host's glibc,
// libstdc++ and libnftnl/libmnl (linked dynamically): the oldest system it loads
// on is about the one it was built on, Debian 12 for the published package
// (docs/install.md). node-gyp-build picks it at run time (src/native/index.ts,
// scripts/install.cjs).
//
// Run it through npm (npm pack, or npm run build:prebuild): node-gyp takes npm's
// config (nodedir). Built in a temporary copy of the sources: prebuildify runs `node-gyp rebuild`
// in its working directory and moves the result out of build/Release, which in a
// checkout is the addon the tests and the CLI load. Skipped when the prebuild is
// newer than every file it is built from.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import prebuildify from 'prebuildify';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, `prebuilds/linux-${process.arch}/netcg.glibc.node`);
const SKIP = new Set(['native/fuzz', 'native/sanitize']);

/** The newest modification time of the files the addon is built from. */
function newest(rel) {
  if (SKIP.has(rel)) return 0;
  const st = statSync(join(root, rel));
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(join(root, rel)).map((f) => newest(`${rel}/${f}`)));
}

const sources = ['native', 'binding.gyp'];
if (existsSync(out) && statSync(out).mtimeMs > Math.max(...sources.map(newest))) process.exit(0);

const tmp = mkdtempSync(join(tmpdir(), 'netcg-prebuild-'));
try {
  for (const f of [...sources, 'package.json']) cpSync(join(root, f), join(tmp, f), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'));
  process.env.JOBS ??= String(availableParallelism());
  process.env.npm_config_loglevel = 'warn'; // node-gyp: warnings and errors only
  // target: this Node's headers (npm's nodedir, else node-gyp downloads them); the
  // addon uses N-API version 8 only (binding.gyp), so it loads in any Node >= 20.
  await new Promise((resolve, reject) =>
    prebuildify(
      {
        napi: true,
        strip: true,
        tagLibc: true,
        targets: [process.versions.node],
        cwd: tmp,
        out: root,
      },
      (err) => (err ? reject(err) : resolve(undefined)),
    ),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.error(`netcg prebuild: ${out.slice(root.length)} (${statSync(out).size} bytes)`);
