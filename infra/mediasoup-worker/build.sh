#!/usr/bin/env bash
# Builds Hummingbird's patched mediasoup worker offline, from the worker/ sources inside the
# mediasoup npm package, against Debian bookworm's libraries (spec mediasoup-offline-build.md).
#
#   build.sh <mediasoup package dir> <output dir>
#
# Normally run through `node infra/mediasoup-worker/ensure.mjs` (npm run setup), which picks the
# output dir from the cache key (mediasoup version + hash of this recipe). The output dir gets
# `mediasoup-worker`, `mediasoup-worker.sha256` and `build-info.json`; it appears in one rename
# at the very end, so an interrupted build never leaves a half-written binary in the cache.
#
# Nothing outside the cache changes, except apt packages installed when run as root.
set -euo pipefail

RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MEDIASOUP_DIR=${1:?usage: build.sh <mediasoup package dir> <output dir>}
OUT_DIR=${2:?usage: build.sh <mediasoup package dir> <output dir>}
CACHE_ROOT=$(dirname "$OUT_DIR")
JOBS=${HB_WORKER_BUILD_JOBS:-$(nproc)}
START=$(date +%s)

step() { printf '[worker-build %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() {
  printf '\nworker-build: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 2
}

[ -f "$MEDIASOUP_DIR/worker/meson.build" ] ||
  fail "no mediasoup worker sources in $MEDIASOUP_DIR/worker" "run \`pnpm install\` first"
MS_VERSION=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$MEDIASOUP_DIR/package.json" | head -n1)

# --- 1. Build dependencies (spec §2) -------------------------------------------------------
# command or pkg-config module -> Debian package
APT_FOR_CMD=(gcc:build-essential g++:build-essential make:build-essential pkg-config:pkg-config
  ninja:ninja-build python3:python3 flatc:flatbuffers-compiler patch:patch strip:binutils)
APT_FOR_PC=(libsrtp2:libsrtp2-dev usrsctp:libusrsctp-dev libuv:libuv1-dev openssl:libssl-dev
  flatbuffers:libflatbuffers-dev absl_flat_hash_map:libabsl-dev)

missing_packages() {
  local missing=() entry
  for entry in "${APT_FOR_CMD[@]}"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry#*:}")
  done
  for entry in "${APT_FOR_PC[@]}"; do
    if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "${entry%%:*}"; then
      missing+=("${entry#*:}")
    fi
  done
  [ ${#missing[@]} -eq 0 ] || printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' '
}

step "checking build dependencies"
MISSING=$(missing_packages)
if [ -n "$MISSING" ]; then
  if [ "$(id -u)" = 0 ]; then
    step "installing with apt: $MISSING"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || fail "apt-get update failed" "check the machine's apt sources"
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $MISSING >/dev/null ||
      fail "apt-get install failed for: $MISSING"
    MISSING=$(missing_packages)
    [ -z "$MISSING" ] || fail "still missing after apt-get install: $MISSING"
  else
    fail "missing build dependencies, and not root so they cannot be installed here." \
      "Run as root:  apt-get update && apt-get install -y --no-install-recommends $MISSING" \
      "then run this build again."
  fi
fi

# --- 2. meson >= 1.1 (spec §3) -------------------------------------------------------------
# bookworm's meson is 1.0.1, too old for mediasoup's meson.build. A system meson >= 1.1 is used
# if present; otherwise meson from bookworm-backports is downloaded with a private apt
# configuration (the machine's own mirror, lists and archives inside the cache) and unpacked
# into the cache. The system's apt configuration is not touched.
meson_ok() { # <meson command...>
  local v
  v=$("$@" --version 2>/dev/null) || return 1
  [ "$(printf '%s\n1.1.0\n' "$v" | sort -V | head -n1)" = "1.1.0" ]
}

debian_mirror() {
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    # deb822: the URIs of the stanza whose Suites include "bookworm"
    uri=$(awk 'BEGIN{RS=""; FS="\n"} /(^|\n)Suites:[^\n]*(^|[ \t])bookworm([ \t]|\n|$)/ {
            for (i=1;i<=NF;i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); print u[1]; exit } }' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 ~ /[ \t]bookworm[ \t]/ { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list | head -n1)
  fi
  printf '%s' "$uri"
}

MESON_DIR="$CACHE_ROOT/tools/meson-backports"
MESON=()
if command -v meson >/dev/null 2>&1 && meson_ok meson; then
  MESON=(meson)
  step "using system meson $(meson --version)"
elif [ -x "$MESON_DIR/usr/bin/meson" ] &&
  meson_ok env PYTHONPATH="$MESON_DIR/usr/lib/python3/dist-packages" python3 "$MESON_DIR/usr/bin/meson"; then
  MESON=(env PYTHONPATH="$MESON_DIR/usr/lib/python3/dist-packages" python3 "$MESON_DIR/usr/bin/meson")
  step "using cached meson $("${MESON[@]}" --version) from bookworm-backports"
else
  have=$(meson --version 2>/dev/null || echo none)
  step "meson $have is older than 1.1; fetching meson from bookworm-backports into the cache"
  MIRROR=$(debian_mirror)
  [ -n "$MIRROR" ] || fail "meson >= 1.1 is needed (found: $have) and no bookworm apt source was found to fetch it from." \
    "Install meson >= 1.1 yourself (e.g. apt-get install -t bookworm-backports meson) and run again."
  APT_PRIV="$CACHE_ROOT/tools/apt"
  rm -rf "$APT_PRIV" "$MESON_DIR.tmp"
  mkdir -p "$APT_PRIV/sources" "$APT_PRIV/lists/partial" "$APT_PRIV/archives/partial" "$APT_PRIV/download"
  KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "Types: deb"
    echo "URIs: $MIRROR"
    echo "Suites: bookworm-backports"
    echo "Components: main"
    [ -f "$KEYRING" ] && echo "Signed-By: $KEYRING"
  } >"$APT_PRIV/sources/backports.sources"
  APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$APT_PRIV/sources"
    -o "Dir::State::Lists=$APT_PRIV/lists" -o "Dir::Cache::archives=$APT_PRIV/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Debug::NoLocking=1")
  apt-get "${APT_OPTS[@]}" update -q >"$APT_PRIV/update.log" 2>&1 ||
    fail "could not read bookworm-backports from $MIRROR (log: $APT_PRIV/update.log)" \
      "Install meson >= 1.1 yourself and run again."
  (cd "$APT_PRIV/download" && apt-get "${APT_OPTS[@]}" download meson/bookworm-backports >"$APT_PRIV/download.log" 2>&1) ||
    fail "could not download meson from bookworm-backports (log: $APT_PRIV/download.log)"
  DEB=$(ls "$APT_PRIV"/download/meson_*.deb | head -n1)
  dpkg -x "$DEB" "$MESON_DIR.tmp"
  rm -rf "$MESON_DIR"
  mv "$MESON_DIR.tmp" "$MESON_DIR"
  MESON=(env PYTHONPATH="$MESON_DIR/usr/lib/python3/dist-packages" python3 "$MESON_DIR/usr/bin/meson")
  meson_ok "${MESON[@]}" || fail "the meson unpacked from $DEB does not run"
  step "meson $("${MESON[@]}" --version) ready ($(basename "$DEB"))"
fi

# One build per cache at a time: a second install waits, then finds the finished build.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
if ! flock -n 9; then
  step "another worker build is running; waiting for it"
  flock 9
fi
if [ -f "$OUT_DIR/mediasoup-worker.sha256" ] && (cd "$OUT_DIR" && sha256sum --check --status mediasoup-worker.sha256); then
  step "$OUT_DIR was built by the other run; nothing to do"
  exit 0
fi

# --- 3. Sources: copy, shims, patches (spec §4-§6) -----------------------------------------
WORK=$(mktemp -d "$CACHE_ROOT/build-$MS_VERSION.XXXXXX")
STAGE="$OUT_DIR.partial.$$"
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT

step "preparing mediasoup $MS_VERSION worker sources in $WORK"
cp -a "$MEDIASOUP_DIR/worker" "$WORK/worker"
chmod -R u+w "$WORK/worker"
rm -f "$WORK"/worker/subprojects/*.wrap
for shim in "$RECIPE_DIR"/shims/*/; do
  name=$(basename "$shim")
  rm -rf "$WORK/worker/subprojects/$name"
  cp -a "$shim" "$WORK/worker/subprojects/$name"
  cp "$RECIPE_DIR/shims/dummy.c" "$WORK/worker/subprojects/$name/dummy.c"
done
for p in "$RECIPE_DIR"/patches/*.patch; do
  step "applying $(basename "$p")"
  (cd "$WORK/worker" && patch -p1 --forward --batch --no-backup-if-mismatch <"$p" >/dev/null) ||
    fail "patch $(basename "$p") does not apply to mediasoup $MS_VERSION" \
      "the upstream source moved; update the patch in $RECIPE_DIR/patches"
done

# --- 4. Configure and compile (spec §7) ----------------------------------------------------
step "meson setup (release, no downloads, liburing off)"
(cd "$WORK/worker" && "${MESON[@]}" setup --wrap-mode=nodownload --buildtype=release \
  -Db_ndebug=true -Dms_disable_liburing=true "$WORK/build" >"$WORK/setup.log" 2>&1) || {
  tail -n 30 "$WORK/setup.log" >&2
  fail "meson setup failed (last lines above)"
}

# Ninja prints "[n/total] ..." for every step; show one line per 10 % and the errors. A bash
# read loop, not awk: Debian's mawk block-buffers a pipe, which delays the progress lines.
compile() { # <target>
  local line n total pct next=0 status=1
  while IFS= read -r line; do
    if [[ $line =~ ^__hb_exit\ ([0-9]+)$ ]]; then status=${BASH_REMATCH[1]}; continue; fi
    printf '%s\n' "$line" >>"$WORK/compile.log"
    if [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]]; then
      n=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
      pct=$((n * 100 / total))
      if [ "$pct" -ge "$next" ] || [ "$n" = "$total" ]; then
        step "  compiled $n/$total ($pct%)"
        next=$((pct - pct % 10 + 10))
      fi
    elif [[ $line == *error:* || $line == FAILED:* ]]; then
      printf '%s\n' "$line"
    fi
  done < <(
    "${MESON[@]}" compile -C "$WORK/build" -j "$JOBS" "$1" 2>&1
    echo "__hb_exit $?"
  )
  return "$status"
}
step "generating flatbuffers headers"
compile flatbuffers-generator || fail "flatbuffers generation failed (log: keep it with HB_KEEP_BUILD=1)"
step "compiling mediasoup-worker with $JOBS jobs (about 6 min on 2 idle cores, 10-13 min under load)"
compile mediasoup-worker || {
  tail -n 40 "$WORK/compile.log" >&2
  fail "compiling mediasoup-worker failed (last lines above)"
}

# --- 5. Install into the cache, atomically -------------------------------------------------
step "installing into $OUT_DIR"
mkdir -p "$STAGE"
strip -o "$STAGE/mediasoup-worker" "$WORK/build/mediasoup-worker"
chmod 755 "$STAGE/mediasoup-worker"
(cd "$STAGE" && sha256sum mediasoup-worker >mediasoup-worker.sha256)
cat >"$STAGE/build-info.json" <<JSON
{
  "mediasoup": "$MS_VERSION",
  "key": "$(basename "$OUT_DIR")",
  "patches": [$(for p in "$RECIPE_DIR"/patches/*.patch; do printf '"%s",' "$(basename "$p")"; done | sed 's/,$//')],
  "meson": "$("${MESON[@]}" --version)",
  "compiler": "$(g++ -dumpfullversion)",
  "libsrtp2": "$(pkg-config --modversion libsrtp2)",
  "openssl": "$(pkg-config --modversion openssl)",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": $(($(date +%s) - START))
}
JSON
if [ "${HB_KEEP_BUILD:-}" = 1 ]; then cp "$WORK/compile.log" "$STAGE/compile.log"; fi
rm -rf "$OUT_DIR"
mv -T "$STAGE" "$OUT_DIR"
step "done: $OUT_DIR/mediasoup-worker ($(stat -c %s "$OUT_DIR/mediasoup-worker") bytes)"
