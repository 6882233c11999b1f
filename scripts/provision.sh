#!/usr/bin/env bash
# Host provisioning for lifeboat. Idempotent: safe to rerun; prints what it does.
#
# 1. Debian packages lifeboat needs (podman with runc, CRIU's helpers, etcd,
#    GlusterFS, busybox and redis for the test images).
# 2. A CRIU that really works on this kernel, decided by a self-test (dump and
#    restore of a process holding a listening TCP socket): the distro's criu
#    first; only if it fails, the newest criu of a newer Debian suite unpacked
#    into a private prefix with a `criu` wrapper (see docs/host.md).
# 3. npm packages of the project (npm ci) unless LIFEBOAT_SKIP_NPM=1.
#
# Environment:
#   LIFEBOAT_PREFIX     where lifeboat keeps host-level state (default /var/lib/lifeboat)
#   LIFEBOAT_CRIU_SUITE newer Debian suite for the CRIU fallback (default sid)
set -euo pipefail

PREFIX=${LIFEBOAT_PREFIX:-/var/lib/lifeboat}
CRIU_SUITE=${LIFEBOAT_CRIU_SUITE:-sid}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CRIU_DIR="$PREFIX/criu"
BIN_DIR="$PREFIX/bin"

say() { printf '[provision] %s\n' "$*"; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (lifeboat drives podman, CRIU and network namespaces as root)"
mkdir -p "$PREFIX" "$BIN_DIR"
chmod 0700 "$PREFIX"

PKGS=(podman runc conmon iptables nftables iproute2 busybox-static redis-server redis-tools
      etcd-server etcd-client glusterfs-server glusterfs-client fuse3 util-linux procps psmisc
      openssl ca-certificates python3 python3-docker catatonit
      docker-registry apache2-utils chromium prometheus docker-compose
      golang-github-containernetworking-plugin-dnsname libfaketime)

# The docker CLI (the tour and the tests use it): Debian 12 has it only in docker.io,
# which also brings a dockerd that is never started here (service starts are suppressed).
if ! command -v docker >/dev/null 2>&1; then PKGS+=(docker.io); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  # Package maintainer scripts would start redis, etcd and glusterd as system
  # services; lifeboat starts its own instances, so forbid service starts
  # during the install (policy-rc.d exit 101 = action forbidden).
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  cleanup_policy() { [ "$policy_created" = 1 ] && rm -f /usr/sbin/policy-rc.d; return 0; }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  cleanup_policy
  trap - EXIT
  # Stop anything a package started anyway (no systemd here: only sysv scripts).
  for svc in redis-server etcd glusterd docker-registry prometheus; do
    pkill -x "$svc" 2>/dev/null && say "stopped $svc started by its package" || true
  done
else
  say "Debian packages: all present"
fi

# ---------------------------------------------------------------- CRIU
# criu_selftest CRIU_CMD: dump and restore a process that holds a listening
# TCP socket. Prints the reason on failure.
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN; }

criu_selftest() {
  local criu=$1 dir pid port ok=1
  dir=$(mktemp -d /tmp/lifeboat-criu-selftest.XXXXXX)
  port=$(( 40000 + RANDOM % 20000 ))
  setsid busybox nc -l -p "$port" </dev/null >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 50); do
    listening "$port" && break
    sleep 0.05
  done
  if ! "$criu" dump -t "$pid" -D "$dir" -o dump.log --tcp-established >/dev/null 2>&1; then
    echo "dump failed: $(grep -E 'Error|error' "$dir/dump.log" 2>/dev/null | grep -v RLIMIT | head -3 | tr '\n' ' ')"
    kill -9 "$pid" 2>/dev/null || true
    ok=0
  elif ! "$criu" restore -D "$dir" -o restore.log -d --tcp-established >/dev/null 2>&1; then
    echo "restore failed: $(grep -E 'Error|error' "$dir/restore.log" 2>/dev/null | grep -v RLIMIT | head -3 | tr '\n' ' ')"
    ok=0
  else
    # the restored process must listen again on the same port
    sleep 0.2
    if ! listening "$port"; then
      echo "restored process does not listen on :$port"
      ok=0
    fi
    pkill -9 -f "busybox nc -l -p $port" 2>/dev/null || true
  fi
  rm -rf "$dir"
  [ "$ok" = 1 ]
}

install_criu_wrapper() {
  local target=$1
  ln -sfn "$target" "$BIN_DIR/criu"
}

use_private_criu() {
  local root="$CRIU_DIR/root"
  local ld="$root/lib64/ld-linux-x86-64.so.2"
  [ -x "$ld" ] || ld="$root/usr/lib64/ld-linux-x86-64.so.2"
  [ -e "$ld" ] || ld=$(ls "$root"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 2>/dev/null | head -1 || true)
  [ -e "$ld" ] || die "private CRIU has no dynamic loader under $root"
  local libpath="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
  cat > "$CRIU_DIR/criu" <<WRAP
#!/bin/sh
# lifeboat: CRIU from Debian $CRIU_SUITE run through its own loader (see scripts/provision.sh)
exec "$ld" --library-path "$libpath" "$root/usr/sbin/criu" "\$@"
WRAP
  chmod 0755 "$CRIU_DIR/criu"
  install_criu_wrapper "$CRIU_DIR/criu"
}

fetch_private_criu() {
  local apt="$CRIU_DIR/apt" root="$CRIU_DIR/root" debs="$CRIU_DIR/debs"
  rm -rf "$apt" "$root" "$debs"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$root" "$debs"
  local mirror
  mirror=$(grep -hoE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $CRIU_SUITE main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::State::status=/dev/null"
              -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1")
  say "fetching package lists of Debian $CRIU_SUITE into $apt (system apt configuration untouched)"
  apt-get "${opts[@]}" update -qq
  local ver
  ver=$(apt-cache "${opts[@]}" show criu 2>/dev/null | awk '/^Version:/{print $2; exit}')
  [ -n "$ver" ] || die "Debian $CRIU_SUITE offers no criu package"
  say "newest criu in $CRIU_SUITE: $ver; resolving its library dependencies"
  local deps
  deps=$(apt-cache "${opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
          --no-breaks --no-replaces --no-enhances --no-pre-depends criu 2>/dev/null \
          | grep -vE '^ |<' | sort -u \
          | grep -E '^(criu|libcompel|libc6$|libgcc-s1|lib[a-z0-9.+-]+)$' \
          | grep -vE '^(libc-bin|libc-dev|libcrypt-dev|libpython|libperl|libssl-dev)' || true)
  ( cd "$debs" && apt-get "${opts[@]}" download $deps >/dev/null 2>&1 ) || \
    ( cd "$debs" && for d in $deps; do apt-get "${opts[@]}" download "$d" >/dev/null 2>&1 || true; done )
  ls "$debs"/criu_*.deb >/dev/null 2>&1 || die "could not download criu from $CRIU_SUITE"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  echo "$ver" > "$CRIU_DIR/version"
  say "unpacked $(ls "$debs" | wc -l) packages into $root"
}

CRIU_STATE="$PREFIX/criu.state"
if [ -L "$BIN_DIR/criu" ] && [ -x "$BIN_DIR/criu" ] && [ -f "$CRIU_STATE" ] && out=$(criu_selftest "$BIN_DIR/criu"); then
  say "CRIU: $(cat "$CRIU_STATE") passes the self-test (dump+restore of a listening TCP socket)"
else
  chosen=""
  if command -v /usr/sbin/criu >/dev/null 2>&1; then
    say "CRIU self-test with the distro's criu ($(/usr/sbin/criu --version 2>/dev/null | head -1))"
    if out=$(criu_selftest /usr/sbin/criu); then
      install_criu_wrapper /usr/sbin/criu
      chosen="distro criu $(/usr/sbin/criu --version | awk '/Version/{print $2}')"
    else
      say "distro criu fails on this kernel: $out"
    fi
  else
    say "no distro criu installed; installing Debian's criu"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends criu >/dev/null || true
    if [ -x /usr/sbin/criu ] && out=$(criu_selftest /usr/sbin/criu); then
      install_criu_wrapper /usr/sbin/criu
      chosen="distro criu $(/usr/sbin/criu --version | awk '/Version/{print $2}')"
    else
      say "distro criu fails on this kernel: ${out:-not installable}"
    fi
  fi
  if [ -z "$chosen" ]; then
    cached=1
    if [ ! -x "$CRIU_DIR/root/usr/sbin/criu" ]; then fetch_private_criu; cached=0; fi
    use_private_criu
    say "CRIU self-test with criu $(cat "$CRIU_DIR/version") from Debian $CRIU_SUITE"
    if ! out=$(criu_selftest "$BIN_DIR/criu"); then
      [ "$cached" = 1 ] || die "no CRIU passes the self-test on this kernel: $out"
      say "cached private criu fails ($out); fetching again"
      fetch_private_criu; use_private_criu
      out=$(criu_selftest "$BIN_DIR/criu") || die "no CRIU passes the self-test on this kernel: $out"
    fi
    chosen="criu $(cat "$CRIU_DIR/version") from Debian $CRIU_SUITE (private prefix $CRIU_DIR)"
  fi
  echo "$chosen" > "$CRIU_STATE"
  say "CRIU: using $chosen -> $BIN_DIR/criu"
fi

# ---------------------------------------------------------------- npm
if [ "${LIFEBOAT_SKIP_NPM:-0}" != 1 ] && [ -f "$HERE/package.json" ]; then
  if [ ! -d "$HERE/node_modules" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    say "installing npm packages (npm ci)"
    ( cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error )
  else
    say "npm packages: up to date"
  fi
  # bin/lifeboat runs dist/ when it is newer than every source file (0.4 s to start instead of 1 s through tsx)
  if [ -f "$HERE/tsconfig.build.json" ]; then
    if [ ! -f "$HERE/dist/.stamp" ] || [ -n "$(find "$HERE/src" \( -name '*.ts' -o -path "$HERE/src/ui/*" \) -newer "$HERE/dist/.stamp" -print -quit)" ]; then
      say "building dist/ (npm run build: tsc, and the dashboard's page files)"
      ( cd "$HERE" && npm run --silent build )
    else
      say "dist/: up to date"
    fi
  fi
fi
say "done"
