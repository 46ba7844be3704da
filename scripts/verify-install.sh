#!/usr/bin/env bash
# `npm install -g netcg` on a stock Debian 12 without a compiler, end to end, as
# root on a Debian host (CI runs it: .ci/run):
#  1. npm pack this checkout (prepack builds the prebuilt addon and the man pages);
#  2. a minimal Debian 12 (debootstrap --variant=minbase bookworm) plus only the
#     runtime libraries netcg links, libnftnl11 and libmnl0: no compiler, make,
#     python or -dev package (checked). Cached in $NETCG_VERIFY_CACHE
#     (/var/cache/netcg-verify) under a hash of what it contains, and used through
#     a throwaway overlay, so a run never changes the cached tree;
#  3. Node: Debian 12's nodejs is 18, older than netcg needs (>= 20.19), so this
#     host's node binary and npm are copied into the tree's /usr/local;
#  4. `npm install -g` of the tarball inside the tree, with no network at all (it
#     runs in an empty network namespace; the dependencies come from an npm cache
#     filled on the host beforehand), and no install output: nothing is built;
#  5. the installed netcg, chrooted into that tree and run in a throwaway network
#     namespace (nsenter --net, so the host's cgroup mounts, bind-mounted into the
#     tree, stay visible): --version, apply, diff (exit 0 after apply), run (the
#     command is in the profile's cgroup), down (the table is gone, read with the
#     host's nft), and the man pages in the installed prefix;
#  6. libnftnl.so.11 moved aside: netcg and the install script say to install
#     libnftnl11 in one line, no trace.
# All mounts are made in a private mount namespace (gone when the script ends,
# however it ends); the network namespace, cgroups, the moved library and the
# work directory are removed in an EXIT trap. Prints the time each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "${1:-}" = --inside ]; then
  inside=1
  shift
else
  inside=
fi

# --- what runs inside the private mount namespace -------------------------------
if [ -n "$inside" ]; then
  work=$1 ns=$2 cgparent=$3 rootfs=$4 tgz=$5
  root=$work/root
  mkdir -p "$root" "$work/upper" "$work/ovl"
  mount -t overlay netcg-verify -o "lowerdir=$rootfs,upperdir=$work/upper,workdir=$work/ovl" "$root"
  mount --rbind /proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --bind /dev "$root/dev"
  # cgroup hierarchies mounted outside /sys (e.g. a net_cls mount netcg made under
  # /run/netcg) go in too, at the same place.
  while read -r mp; do
    case $mp in /sys/*) continue ;; esac
    mkdir -p "$root$mp"
    mount --bind "$mp" "$root$mp"
  done < <(awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) ~ /^cgroup2?$/) print $5 }' /proc/self/mountinfo)

  # Node and npm from this host (Debian 12's own nodejs is 18).
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  cp -a "$work/npm-cache" "$root/var/cache/npm"
  cp "$tgz" "$root/tmp/"

  # Runs a command in the tree, in the throwaway namespace, with a clean environment.
  in_tree() {
    nsenter --net="/run/netns/$ns" chroot "$root" \
      env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
  }
  fail() {
    echo "verify-install: FAILED: $*" >&2
    exit 1
  }

  tools=$(in_tree sh -c 'for t in gcc g++ cc c++ make python3 pkg-config; do command -v $t || true; done')
  [ -z "$tools" ] || fail "the tree has build tools: $tools"
  devs=$(in_tree dpkg-query -W -f '${Package}\n' | grep -- '-dev$' || true)
  [ -z "$devs" ] || fail "the tree has -dev packages: $devs"
  [ "$(in_tree node --version)" = "$(node --version)" ] || fail "node does not run in the tree"

  # The install: offline (no network in the namespace), foreground scripts so any
  # install-script output would show, and none expected.
  out=$(in_tree npm install -g --offline --cache /var/cache/npm --no-audit --no-fund --no-update-notifier \
    --foreground-scripts "/tmp/$(basename "$tgz")" 2>&1) || fail "npm install -g: $out"
  echo "$out" | sed 's/^/  npm: /'
  if echo "$out" | grep -Eiq 'gyp|make|g\+\+|c\+\+|cc1|netcg install'; then fail "npm install -g built or printed something"; fi
  pkgdir=/usr/local/lib/node_modules/netcg
  [ ! -e "$root$pkgdir/build" ] || fail "the install built the addon from source ($pkgdir/build exists)"
  picked=$(in_tree node -e "console.log(require('$pkgdir/node_modules/node-gyp-build').path('$pkgdir'))")
  [ "$picked" = "$pkgdir/prebuilds/linux-$(node -p process.arch)/netcg.glibc.node" ] || fail "loads $picked, not the prebuild"
  for page in $(node -p "require('./package.json').man.map((m) => m.slice(4)).join(' ')"); do
    [ -f "$root/usr/local/share/man/man1/$page" ] || fail "man page $page not installed"
  done

  # The source fallback here: one line naming what a build needs (nothing is there).
  status=0
  err=$(in_tree npm rebuild -g netcg --build-from-source --offline --cache /var/cache/npm --foreground-scripts 2>&1) || status=$?
  line=$(echo "$err" | grep '^netcg install: ' || true)
  echo "  --build-from-source: $line"
  [ "$status" != 0 ] && echo "$line" | grep -q 'needs a C++ compiler (g++), make, python3, pkg-config (Debian' ||
    fail "npm rebuild --build-from-source without a compiler (exit $status): $err"
  [ ! -e "$root$pkgdir/build" ] || fail "the failed source build left $pkgdir/build"

  # The installed netcg against the kernel, in the namespace.
  version=$(node -p "require('./package.json').version")
  [ "$(in_tree netcg --version)" = "$version" ] || fail "netcg --version is not $version"
  install -d -m 0755 "$root/etc/netcg"
  printf 'table: netcgverify\ncgroupParent: %s\nprofiles:\n  dns:\n    classid: %d\n    dns: { redirect: 5354 }\n    ipv6: reject\n' \
    "$cgparent" $((0x7e570000 + $$ % 65536)) >"$root/etc/netcg/config.yaml"
  chmod 0644 "$root/etc/netcg/config.yaml"
  in_tree netcg apply | sed 's/^/  apply: /'
  nsenter --net="/run/netns/$ns" nft list table inet netcgverify >/dev/null || fail "apply made no table"
  in_tree netcg diff >/dev/null || fail "diff after apply did not exit 0"
  member=$(in_tree netcg run dns -- cat /proc/self/cgroup)
  echo "$member" | grep -q "/$cgparent/dns\$" || fail "netcg run: not in the profile's cgroup: $member"
  in_tree netcg down | sed 's/^/  down: /'
  if nsenter --net="/run/netns/$ns" nft list table inet netcgverify >/dev/null 2>&1; then fail "down left the table"; fi

  # A missing runtime library: one line naming the package, at run time and at install.
  lib=$(in_tree dpkg -L libnftnl11 | grep '/libnftnl\.so\.11$')
  mv "$root$lib" "$root$lib.hidden"
  trap 'mv "$root$lib.hidden" "$root$lib" 2>/dev/null || true' EXIT
  status=0
  err=$(in_tree netcg apply 2>&1) || status=$?
  echo "  without libnftnl: $err"
  [ "$status" = 1 ] && echo "$err" | grep -q '^netcg: error: .*libnftnl11' && [ "$(echo "$err" | wc -l)" = 1 ] ||
    fail "netcg without libnftnl.so.11 (exit $status): $err"
  status=0
  err=$(in_tree npm rebuild -g netcg --offline --cache /var/cache/npm --foreground-scripts 2>&1) || status=$?
  [ "$status" != 0 ] && echo "$err" | grep -q 'netcg install: .*libnftnl11' ||
    fail "the install script without libnftnl.so.11 (exit $status): $err"
  mv "$root$lib.hidden" "$root$lib"
  in_tree netcg diff >/dev/null 2>&1 || [ $? = 2 ] || fail "netcg does not run again with libnftnl.so.11 back"
  exit 0
fi

# --- on the host -----------------------------------------------------------------
t0=$(date +%s)
step_start=$t0
step() {
  local now
  now=$(date +%s)
  echo "verify-install: $1 ($((now - step_start)) s)"
  step_start=$now
}

. scripts/lib/apt.sh
ensure_debs verify-install debootstrap util-linux iproute2 nftables
# npm pack needs the dev dependencies (tsc, prebuildify) and a compiler: scripts/setup.sh.
[ -d node_modules/prebuildify ] || { echo "verify-install: run scripts/setup.sh first" >&2; exit 1; }

cache=${NETCG_VERIFY_CACHE:-/var/cache/netcg-verify}
mirror=${NETCG_VERIFY_MIRROR:-http://deb.debian.org/debian}
case $cache/ in "$repo"/*) echo "verify-install: the cache must not be inside the checkout" >&2; exit 1 ;; esac
mkdir -p "$cache"
work=$(mktemp -d /tmp/netcg-verify.XXXXXX)
ns=netcg-verify-$$
cgparent=netcg-verify-$$

cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  # cgroups netcg down left (it removes the empty ones): every hierarchy, deepest first.
  awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) ~ /^cgroup2?$/) print $5 }' /proc/self/mountinfo |
    while read -r mp; do
      [ -d "$mp/$cgparent" ] && find "$mp/$cgparent" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The package, as published.
npm pack --silent --pack-destination "$work" >/dev/null
tgz=$(echo "$work"/netcg-*.tgz)
[ -f "$tgz" ] || { echo "verify-install: npm pack made no tarball" >&2; exit 1; }
step "npm pack: $(basename "$tgz"), $(stat -c %s "$tgz") bytes"

# 2. The Debian 12 tree, cached by what it is made of.
debs=libnftnl11,libmnl0
key=$(echo "bookworm minbase $mirror $debs" | sha256sum | cut -c1-12)
rootfs=$cache/bookworm-$key
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$rootfs/.complete" ]; then
  rm -rf "$rootfs" "$rootfs.tmp"
  debootstrap --variant=minbase --include="$debs" bookworm "$rootfs.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs.tmp"/var/cache/apt/archives/*.deb
  mv "$rootfs.tmp" "$rootfs"
  touch "$rootfs/.complete"
fi
step "Debian 12 minbase + $debs: $rootfs ($(du -sm "$rootfs" | cut -f1) MB)"

# 3. The dependencies in an npm cache (the registry is asked only for what the
#    cache lacks), so the install in the tree needs no network.
npm_cache=$cache/npm-cache
npm install --prefix "$work/prefetch" --cache "$npm_cache" --prefer-offline --ignore-scripts \
  --no-audit --no-fund --loglevel=error "$tgz" >/dev/null
cp -a "$npm_cache" "$work/npm-cache"
exec 9>&-
step "dependencies in the npm cache"

# 4-6. In the tree.
ip netns add "$ns"
ip -n "$ns" link set lo up
unshare --mount --propagation private bash "$repo/scripts/verify-install.sh" --inside "$work" "$ns" "$cgparent" "$rootfs" "$tgz"
step "installed and ran in the tree"
echo "verify-install: passed in $(($(date +%s) - t0)) s"
