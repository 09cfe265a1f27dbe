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
# shellcheck source=common.sh
. "$RECIPE_DIR/common.sh"
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
  ninja:ninja-build python3:python3 flatc:flatbuffers-compiler patch:patch strip:binutils nm:binutils
  dpkg-source:dpkg-dev)
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
  private_apt_opts "$APT_PRIV"
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

# --- 3. libsrtp2 with OpenSSL (spec §13) ----------------------------------------------------
# Debian's libsrtp2-1 uses NSS and halves SRTP capacity; libsrtp.sh builds Debian's own source
# with OpenSSL as a static library, or (never failing the build) answers "system-nss" after one
# warning that names the cost.
step "libsrtp2: building from Debian's source package with OpenSSL (or reusing that build)"
SRTP_RESULT=$(bash "$RECIPE_DIR/libsrtp.sh" "$CACHE_ROOT") || SRTP_RESULT=$'variant=system-nss\nreason=libsrtp.sh failed unexpectedly'
srtp_field() { printf '%s\n' "$SRTP_RESULT" | sed -n "s/^$1=//p" | head -n1; }
SRTP_VARIANT=$(srtp_field variant)
SRTP_PREFIX=$(srtp_field prefix)
SRTP_SOURCE=$(srtp_field source)
SRTP_REASON=$(srtp_field reason)
SRTP_MESON_OPTS=()
if [ "$SRTP_VARIANT" = openssl-static ] && [ -f "$SRTP_PREFIX/lib/libsrtp2.a" ]; then
  SRTP_MESON_OPTS=("-Dlibsrtp3:hb_static_prefix=$SRTP_PREFIX")
  step "libsrtp2: linking $SRTP_SOURCE (OpenSSL, static) from $SRTP_PREFIX"
else
  SRTP_VARIANT=system-nss
  SRTP_SOURCE="libsrtp2 $(pkg-config --modversion libsrtp2) (system, NSS)"
  step "libsrtp2: linking the system library (see the warning above)"
fi

# --- 4. Sources: copy, shims, patches (spec §4-§6) -----------------------------------------
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

# --- 5. Configure and compile (spec §7) ----------------------------------------------------
step "meson setup (release, no downloads, liburing off)"
(cd "$WORK/worker" && "${MESON[@]}" setup --wrap-mode=nodownload --buildtype=release \
  -Db_ndebug=true -Dms_disable_liburing=true "${SRTP_MESON_OPTS[@]}" "$WORK/build" >"$WORK/setup.log" 2>&1) || {
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

# --- 6. Install into the cache, atomically -------------------------------------------------
# The OpenSSL variant must not load the system libsrtp2 or NSS at run time (spec §13).
ldd "$WORK/build/mediasoup-worker" >"$WORK/ldd.txt" 2>&1 || fail "ldd cannot read the built worker"
if [ "$SRTP_VARIANT" = openssl-static ] && grep -Eq 'libsrtp2\.so|libnss3\.so' "$WORK/ldd.txt"; then
  cat "$WORK/ldd.txt" >&2
  fail "the worker was meant to link libsrtp2 statically with OpenSSL but still loads the system libsrtp2/NSS" \
    "this is a recipe bug: check shims/libsrtp3/meson.build"
fi

step "installing into $OUT_DIR"
mkdir -p "$STAGE"
strip -o "$STAGE/mediasoup-worker" "$WORK/build/mediasoup-worker"
chmod 755 "$STAGE/mediasoup-worker"
(cd "$STAGE" && sha256sum mediasoup-worker >mediasoup-worker.sha256)
# build-info.json, written with python3's json module (the strings may hold any character).
PATCHES=$(for p in "$RECIPE_DIR"/patches/*.patch; do basename "$p"; done)
RUNTIME_LIBS=$(awk '$1 ~ /\.so/ {print $1}' "$WORK/ldd.txt")
HB_MS_VERSION="$MS_VERSION" HB_KEY="$(basename "$OUT_DIR")" HB_PATCHES="$PATCHES" \
  HB_MESON="$("${MESON[@]}" --version)" HB_CXX="$(g++ -dumpfullversion)" \
  HB_SRTP_VARIANT="$SRTP_VARIANT" HB_SRTP_SOURCE="$SRTP_SOURCE" HB_SRTP_REASON="$SRTP_REASON" \
  HB_RUNTIME_LIBS="$RUNTIME_LIBS" HB_OPENSSL="$(pkg-config --modversion openssl)" \
  HB_BUILT_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)" HB_BUILD_SECONDS="$(($(date +%s) - START))" \
  python3 - "$STAGE/build-info.json" <<'PY'
import json, os, sys
e = os.environ
lines = lambda v: [x for x in e[v].split("\n") if x]
srtp = {"variant": e["HB_SRTP_VARIANT"], "crypto": "openssl" if e["HB_SRTP_VARIANT"] == "openssl-static" else "nss"}
if e["HB_SRTP_REASON"]:
    srtp["fallbackReason"] = e["HB_SRTP_REASON"]
info = {
    "mediasoup": e["HB_MS_VERSION"], "key": e["HB_KEY"], "patches": lines("HB_PATCHES"),
    "meson": e["HB_MESON"], "compiler": e["HB_CXX"], "libsrtp2": e["HB_SRTP_SOURCE"], "srtp": srtp,
    "openssl": e["HB_OPENSSL"], "runtimeLibraries": lines("HB_RUNTIME_LIBS"),
    "builtAt": e["HB_BUILT_AT"], "buildSeconds": int(e["HB_BUILD_SECONDS"]),
}
with open(sys.argv[1], "w") as f:
    json.dump(info, f, indent=2)
    f.write("\n")
PY
if [ "${HB_KEEP_BUILD:-}" = 1 ]; then cp "$WORK/compile.log" "$STAGE/compile.log"; fi
rm -rf "$OUT_DIR"
mv -T "$STAGE" "$OUT_DIR"
step "done: $OUT_DIR/mediasoup-worker ($(stat -c %s "$OUT_DIR/mediasoup-worker") bytes)"
