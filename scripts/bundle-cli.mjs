#!/usr/bin/env node
// Bundles the command line — src/cli/main.ts and everything it imports, commander,
// zod and yaml included — into dist/bin/ (the package's `bin`), with esbuild: ES
// modules split at every dynamic import, so `netcg --help` reads the entry and
// commander's chunk, and each command only the chunks its action needs. Node 20
// has no compile cache, and its ES module loader costs more per file than most of
// these files cost to run: a few chunks start faster than ~150 modules
// (docs/bench/startup.md). The library (dist/index.js) stays tsc's output.
//
// Stays debuggable: linked source maps (names and positions, no copies of the
// sources) point at src/ and node_modules/, so `NODE_OPTIONS=--enable-source-maps
// netcg …` prints TypeScript positions in a stack trace. The chunks sit two levels
// below the package root, as dist/cli/*.js do, so paths relative to import.meta.url
// (package.json, the addon in build/) resolve the same. The addon and node-gyp-build
// (which finds it at run time) are not bundled.
//
//   node scripts/bundle-cli.mjs        (part of npm run build:ts)
import childProcess from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * node:child_process, loaded on first use: commander requires it at start-up (for
 * executable subcommands, which netcg has none of) and so do the modules that run
 * getent or nft, yet it costs more to load than commander itself. Every import of it
 * gets an object whose properties are getters into the real module.
 * @type {import('esbuild').Plugin}
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.namespace === 'lazy'
        ? { path: 'node:child_process', external: true }
        : { path: 'child_process', namespace: 'lazy' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      loader: 'js',
      contents: [
        "const load = () => require('node:child_process');",
        ...Object.keys(childProcess).map(
          (k) =>
            `Object.defineProperty(module.exports, ${JSON.stringify(k)}, { enumerable: true, get: () => load()[${JSON.stringify(k)}] });`,
        ),
      ].join('\n'),
    }));
  },
};
const outdir = join(root, 'dist', 'bin');

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { netcg: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['*.node', 'node-gyp-build'],
  // commander is CommonJS: its require() of Node's modules needs a real require in ESM.
  banner: {
    js: "import { createRequire as __netcgCreateRequire } from 'node:module'; const require = __netcgCreateRequire(import.meta.url);",
  },
  plugins: [lazyChildProcess],
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});
chmodSync(join(outdir, 'netcg.js'), 0o755);
