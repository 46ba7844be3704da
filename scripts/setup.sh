#!/usr/bin/env bash
# Installs what netcg needs, idempotently: Debian packages, npm dependencies, the
# native addon and the TypeScript build. Safe to run again; does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/apt.sh
ensure_debs setup clang-format libnftnl-dev libmnl-dev nftables iproute2 dnsmasq-base dnsutils strace pkg-config gcc g++ make python3 util-linux procps iptables systemd iputils-ping openvpn groff-base mandoc

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Native addon: rebuild when any native source or binding.gyp is newer than the module
# (the fuzz targets and sanitizer files are not part of it).
addon=build/Release/netcg.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp \( -path native/fuzz -o -path native/sanitize \) -prune -o -newer "$addon" -print -quit)" ]; then
  npx --no-install node-gyp rebuild --silent
fi

# TypeScript: rebuild when any source is newer than the last build.
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src tsconfig.json tsconfig.build.json scripts/bundle-cli.mjs -newer "$stamp" -print -quit)" ]; then
  rm -rf dist # no stale modules left behind by moved or deleted sources
  npm run -s build:ts # tsc, then the bundled command line in dist/bin (scripts/bundle-cli.mjs)
  chmod +x dist/cli/main.js 2>/dev/null || true
  touch "$stamp"
fi

# The network test bed (test/testbed: namespaces, resolvers, probes) that `npm run demo`,
# the e2e tests and the benchmarks run; built apart from dist/, which does not ship it.
stamp=build-testbed/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find test/testbed tsconfig.json tsconfig.testbed.json -newer "$stamp" -print -quit)" ]; then
  npx --no-install tsc -p tsconfig.testbed.json
  touch "$stamp"
fi
