#!/usr/bin/env bash
# The kernel and end-to-end suites against an ASan + UBSan (+ LeakSanitizer)
# build of the addon. Builds it with CMake (native/CMakeLists.txt,
# -DNETCG_SANITIZE=ON, clang-14) into build-asan/ — build/Release/netcg.node is
# left alone — then runs vitest with the ASan runtime preloaded and
# NETCG_ADDON pointing at that build. Any sanitizer report fails the run:
# reports are fatal in the addon, and every report file (ASan, UBSan, leaks)
# under the run's log directory is printed and counted at the end.
#
# Scope (native/sanitize/scope.cjs): the ASan runtime and the sanitized addon
# are in vitest's workers, where the kernel tests call the addon in-process;
# vitest's main process and the processes tests spawn (the netcg CLI, ip, nft,
# dnsmasq, strace...) run as in a plain run.
#   scripts/test-sanitized.sh                  kernel + e2e suites
#   scripts/test-sanitized.sh test/kernel/x.ts any vitest arguments instead
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD_DIR:-build-asan}

. scripts/lib/apt.sh
ensure_debs sanitize clang-14 libclang-rt-14-dev cmake
# The regular addon and dist/: the CLI children of the e2e tests use them.
bash scripts/setup.sh

CC=clang-14 CXX=clang++-14 cmake -S native -B "$build" -DNETCG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target netcg -j"$(nproc)" >/dev/null

runtime=$(clang++-14 -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$runtime" ] || { echo "netcg sanitize: no ASan runtime at $runtime" >&2; exit 1; }
logs=$(mktemp -d /tmp/netcg-sanitize.XXXXXX)
trap 'rm -rf "$logs"' EXIT

export NETCG_ADDON="$PWD/$build/netcg.node" NETCG_ASAN_RUNTIME="$runtime"
export NODE_OPTIONS="--require=$PWD/native/sanitize/scope.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
# log_path: one report file per process and pid, so a report from a worker
# that exits after its tests passed is still seen.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_odr_violation=0:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$PWD/native/sanitize/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"

[ $# -gt 0 ] || set -- test/kernel test/e2e
start=$(date +%s)
status=0
# Not through npx: its own node would load scope.cjs and hand vitest a plain env.
# Longer timeouts: a process spawned from an ASan'd node costs 2-3x as much
# (measured here), and some tests start 1,000 processes.
node node_modules/vitest/vitest.mjs run --testTimeout=300000 --hookTimeout=300000 "$@" || status=$?
elapsed=$(( $(date +%s) - start ))

reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  for f in $reports; do echo "== $f"; cat "$f"; done >&2
  echo "netcg sanitize: $(echo "$reports" | wc -l) sanitizer report(s), see above" >&2
  [ "$status" -ne 0 ] || status=1
fi
echo "netcg sanitize: vitest exit $status, ${elapsed}s"
exit "$status"
