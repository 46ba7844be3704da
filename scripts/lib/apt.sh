# Sourced by scripts/*.sh: installs the Debian packages that are missing, and only
# those (so re-running a script on a set-up machine touches nothing). Waits for the
# dpkg lock, so scripts run side by side do not fail on each other.
#   ensure_debs WHO PACKAGE...     WHO names the caller in messages
ensure_debs() {
  local who=$1 pkg
  shift
  local need=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "netcg $who: missing Debian packages: ${need[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "netcg $who: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
