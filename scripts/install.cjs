#!/usr/bin/env node
// npm's "install" script for netcg (package.json). With a prebuilt addon that
// loads here (prebuilds/, scripts/prebuild.mjs) it does nothing and prints
// nothing: no compiler is needed or run. Otherwise (no prebuild for this system,
// one that does not load, or `npm install --build-from-source`) it builds the
// addon from source with node-gyp, after checking that the tools and headers are
// there and naming the packages that are not. A prebuild that fails only because
// libnftnl or libmnl is missing is not rebuilt (the build needs those libraries
// too): the install fails and names the runtime packages, as src/native/index.ts
// does at run time.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const RUNTIME_LIBRARIES =
  'Debian, Ubuntu: apt-get install libnftnl11 libmnl0; Fedora: dnf install libnftnl libmnl';
const BUILD_PACKAGES =
  'Debian, Ubuntu: apt-get install g++ make python3 pkg-config libnftnl-dev libmnl-dev; ' +
  'Fedora: dnf install gcc-c++ make python3 pkgconf-pkg-config libnftnl-devel libmnl-devel';

function fail(message) {
  process.stderr.write(`netcg install: ${message}\n`);
  process.exit(1);
}

/** Loads what node-gyp-build picks; returns undefined on success, else the first line of the error. */
function loadError() {
  try {
    require(require('node-gyp-build').path(root));
    return undefined;
  } catch (err) {
    return String(err?.message ?? err)
      .split('\n')[0]
      .trim();
  }
}

function has(command, args) {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** What a source build needs that this system lacks. */
function missingForBuild() {
  const missing = [];
  if (!has('c++', ['--version']) && !has('g++', ['--version'])) missing.push('a C++ compiler (g++)');
  if (!has('make', ['--version'])) missing.push('make');
  if (!has('python3', ['--version'])) missing.push('python3');
  if (!has('pkg-config', ['--version'])) missing.push('pkg-config');
  else
    for (const [lib, pkg] of [
      ['libnftnl', 'libnftnl-dev'],
      ['libmnl', 'libmnl-dev'],
    ])
      if (!has('pkg-config', ['--exists', lib])) missing.push(`${pkg} (headers of ${lib})`);
  return missing;
}

function buildFromSource(why) {
  const missing = missingForBuild();
  if (missing.length > 0)
    fail(`${why}: building the addon from source needs ${missing.join(', ')} (${BUILD_PACKAGES})`);
  // npm hands its bundled node-gyp to install scripts as npm_config_node_gyp.
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`building the addon from source failed (${why}); see the output above`);
  const after = loadError();
  if (after !== undefined) fail(`the addon built from source does not load: ${after}`);
}

const fromSource = process.env.npm_config_build_from_source === 'true';
const error = fromSource ? '--build-from-source' : loadError();
if (error === undefined) process.exit(0);
const lib = /\b(libnftnl\.so\.\d+|libmnl\.so\.\d+)\b.*cannot open shared object file/.exec(error)?.[1];
if (lib !== undefined && !fromSource)
  fail(`netcg's native addon needs ${lib}, which is not installed (${RUNTIME_LIBRARIES})`);
buildFromSource(fromSource ? error : `no usable prebuilt addon (${error})`);
