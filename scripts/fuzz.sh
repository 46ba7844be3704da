#!/usr/bin/env bash
# Builds the netlink decoder fuzz target (libFuzzer + ASan + UBSan, native/fuzz/)
# and runs it for SECONDS on a temporary copy of the committed corpus, so CI never
# grows native/fuzz/corpus/. Exits non-zero on any finding (crash, out-of-bounds
# read, undefined behaviour, leak); the crashing input is kept under $FUZZ_ARTIFACTS
# (default build-fuzz/artifacts) — add it to the corpus once fixed.
#   scripts/fuzz.sh 60           build, then fuzz for 60 s
#   scripts/fuzz.sh --build-only build only (scripts/fuzz-capture.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-build-fuzz}

. scripts/lib/apt.sh
ensure_debs fuzz clang-14 libclang-rt-14-dev cmake pkg-config libnftnl-dev libmnl-dev
# The CMake build reads node-addon-api's include dir (the decoders' files include napi.h).
[ -d node_modules/node-addon-api ] || npm ci --no-audit --no-fund --loglevel=error

CC=clang-14 CXX=clang++-14 cmake -S native -B "$build" -DNETCG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target netlink_fuzz netlink_capture -j"$(nproc)" >/dev/null
[ "$seconds" = "--build-only" ] && exit 0

work=$(mktemp -d /tmp/netcg-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r native/fuzz/corpus "$work/corpus"
artifacts=${FUZZ_ARTIFACTS:-$build/artifacts}
mkdir -p "$artifacts"
# -max_len: a multi-part dump seed is a few tens of KiB. detect_leaks=0: see
# the exit() interposer in native/fuzz/netlink_fuzz.cc (libnftnl calls exit()).
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/netlink_fuzz" "$work/corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$work/log" 2>&1 && status=0 || status=$?
if [ "$status" -ne 0 ]; then
  grep -v -e 'kernel ABI is broken' -e ' reason: ' "$work/log" | tail -n 80 >&2
  echo "netcg fuzz: FINDING (exit $status); inputs in $artifacts/" >&2
  exit "$status"
fi
# The last status line (cov: edges, ft: features, corp: units/bytes, exec/s)
# and the final stats, not libFuzzer's recommended dictionary.
grep -E '^#[0-9]+' "$work/log" | tail -n 1
grep '^stat::' "$work/log"
echo "netcg fuzz: ${seconds}s, no findings"
