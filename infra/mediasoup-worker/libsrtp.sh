#!/usr/bin/env bash
# Builds libsrtp2 from Debian's own source package with the OpenSSL crypto backend, as a static
# PIC library inside the build cache, for build.sh to link into the worker
# (spec mediasoup-offline-build.md §13).
#
#   libsrtp.sh <cache root>
#
# Why: Debian's binary libsrtp2-1 is built against NSS, whose AES backend creates and destroys a
# crypto context for every packet: SRTP then costs ~+13 µs per forwarded packet instead of
# ~+2 µs, half the bridge's capacity per core.
#
# The source comes through a private apt configuration (a deb-src entry with the machine's own
# bookworm mirror URI, lists and downloads under <cache root>/tools/apt-src); the system's apt
# configuration is not touched. A finished build is kept in <cache root>/tools/libsrtp2-openssl-
# <hash of this recipe> and reused without network access.
#
# Never fails the worker build: if the source cannot be fetched or built, it prints ONE warning
# naming the capacity cost and answers "variant=system-nss" (build.sh then links the system's
# libsrtp2). Result on stdout, one key=value per line:
#   variant=openssl-static  prefix=<dir with include/srtp2 and lib/libsrtp2.a>  source=<pkg version>
#   variant=system-nss      reason=<why>
#
# Environment: HB_SRTP_SYSTEM=1 uses the system library on purpose (still warns);
# HB_SRTP_MIRROR=<uri> replaces the mirror derived from the apt sources (tests point it at a
# closed port to exercise the fallback); HB_WORKER_BUILD_JOBS as for build.sh.
set -uo pipefail

RECIPE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$RECIPE_DIR/common.sh"

CACHE_ROOT=${1:?usage: libsrtp.sh <cache root>}
JOBS=${HB_WORKER_BUILD_JOBS:-$(nproc)}
# The compat header (shims/libsrtp3/include/srtp.h) maps mediasoup's libsrtp v3 calls onto the
# v2 API, so only a 2.x source is accepted.
WANT_UPSTREAM_MAJOR=2

say() { printf '[worker-build libsrtp] %s\n' "$*" >&2; }

fallback() { # <reason>
  # The one warning of the fallback path: what happened, what it costs, how to get the fast one.
  printf '\nworker-build: WARNING: linking the system libsrtp2 (NSS crypto backend) because %s. SRTP then costs about +13 µs of worker CPU per forwarded packet instead of about +2 µs with OpenSSL: roughly HALF the bridge'"'"'s SRTP capacity per core (~35k instead of ~75k forwarded packets/s, ~300 instead of ~600 subscribers). To get the fast build, make a bookworm deb-src reachable from this machine'"'"'s apt mirror, delete the worker'"'"'s cache folder and run `npm run setup` again.\n\n' "$1" >&2
  printf 'variant=system-nss\nreason=%s\n' "$1"
  exit 0
}

mkdir -p "$CACHE_ROOT/tools"
RECIPE_HASH=$(cat "$RECIPE_DIR/libsrtp.sh" "$RECIPE_DIR/common.sh" | sha256sum | cut -c1-16)
LIB_DIR="$CACHE_ROOT/tools/libsrtp2-openssl-$RECIPE_HASH"

if [ "${HB_SRTP_SYSTEM:-}" = 1 ]; then
  fallback "HB_SRTP_SYSTEM=1 asks for it"
fi

if [ -f "$LIB_DIR/complete" ] && [ -f "$LIB_DIR/lib/libsrtp2.a" ]; then
  say "reusing $LIB_DIR ($(cat "$LIB_DIR/source"))"
  printf 'variant=openssl-static\nprefix=%s\nsource=%s\n' "$LIB_DIR" "$(cat "$LIB_DIR/source")"
  exit 0
fi

command -v dpkg-source >/dev/null 2>&1 || fallback "dpkg-source is missing (package dpkg-dev)"
command -v apt-get >/dev/null 2>&1 || fallback "apt-get is missing"
command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl || fallback "OpenSSL's headers are missing (package libssl-dev)"

MIRROR=${HB_SRTP_MIRROR:-$(debian_mirror)}
[ -n "$MIRROR" ] || fallback "no bookworm entry was found in the apt sources to derive a deb-src from"

# --- fetch: apt-get source with a private configuration ------------------------------------
APT_PRIV="$CACHE_ROOT/tools/apt-src"
rm -rf "$APT_PRIV"
mkdir -p "$APT_PRIV/sources" "$APT_PRIV/lists/partial" "$APT_PRIV/archives/partial" "$APT_PRIV/download"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
{
  echo "Types: deb-src"
  echo "URIs: $MIRROR"
  echo "Suites: bookworm"
  echo "Components: main"
  [ -f "$KEYRING" ] && echo "Signed-By: $KEYRING"
} >"$APT_PRIV/sources/bookworm-src.sources"
private_apt_opts "$APT_PRIV"

say "fetching libsrtp2's source package (deb-src $MIRROR bookworm)"
apt-get "${APT_OPTS[@]}" update -q >"$APT_PRIV/update.log" 2>&1 ||
  fallback "the deb-src index at $MIRROR could not be read (log: $APT_PRIV/update.log)"
# apt-get update exits 0 even when a source failed; an empty lists folder means nothing came.
compgen -G "$APT_PRIV/lists/*Sources*" >/dev/null ||
  fallback "no deb-src index came from $MIRROR (log: $APT_PRIV/update.log)"
(cd "$APT_PRIV/download" && apt-get "${APT_OPTS[@]}" source --download-only libsrtp2 >"$APT_PRIV/source.log" 2>&1) ||
  fallback "apt-get source libsrtp2 failed (log: $APT_PRIV/source.log)"
DSC=$(ls "$APT_PRIV"/download/libsrtp2_*.dsc 2>/dev/null | head -n1)
[ -n "$DSC" ] || fallback "apt-get source left no libsrtp2 .dsc (log: $APT_PRIV/source.log)"
VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$DSC" | head -n1)
case "$VERSION" in
  "$WANT_UPSTREAM_MAJOR".*) ;;
  *) fallback "the source package is libsrtp2 $VERSION, not $WANT_UPSTREAM_MAJOR.x (the compat header targets the v2 API)" ;;
esac

# --- build: static, PIC, OpenSSL ------------------------------------------------------------
WORK=$(mktemp -d "$CACHE_ROOT/tools/libsrtp-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The archive's checksums were verified by apt against the signed index; dpkg-source applies
# Debian's patches (quilt series).
dpkg-source -x "$DSC" "$WORK/src" >"$WORK/extract.log" 2>&1 ||
  fallback "dpkg-source could not unpack $(basename "$DSC")"
say "building libsrtp2 $VERSION with OpenSSL (static, PIC)"
# Debian's rules use autoconf (./configure); -D_REENTRANT as Debian does.
(cd "$WORK/src" &&
  ./configure --enable-openssl --disable-debug-logging --prefix="$WORK/prefix" \
    CFLAGS="-O2 -fPIC -D_REENTRANT" >"$WORK/configure.log" 2>&1) ||
  fallback "libsrtp2's configure --enable-openssl failed ($(tail -n1 "$WORK/configure.log"))"
grep -q '^#define OPENSSL 1' "$WORK/src/crypto/include/config.h" ||
  fallback "libsrtp2's configure did not select the OpenSSL backend"
(cd "$WORK/src" && make -j"$JOBS" libsrtp2.a test/srtp_driver >"$WORK/make.log" 2>&1) ||
  fallback "compiling libsrtp2 failed ($(grep -m1 'error' "$WORK/make.log"))"
# libsrtp's own self-test: known-answer tests and protect/unprotect with the OpenSSL ciphers.
(cd "$WORK/src" && ./test/srtp_driver -v >"$WORK/selftest.log" 2>&1) ||
  fallback "libsrtp2's self-test (srtp_driver -v) failed with the OpenSSL backend"
(cd "$WORK/src" && make install >"$WORK/install.log" 2>&1) || fallback "installing libsrtp2 into the cache failed"
# The archive must call OpenSSL's EVP and nothing of NSS.
# (nm into a file first: `nm | grep -q` would end nm with SIGPIPE and fail under pipefail.)
nm "$WORK/prefix/lib/libsrtp2.a" >"$WORK/symbols.txt" 2>/dev/null || fallback "nm cannot read the built libsrtp2.a"
grep -q ' U EVP_CipherInit_ex$' "$WORK/symbols.txt" ||
  fallback "the built libsrtp2.a does not use OpenSSL's EVP ciphers"
if grep -q ' U \(PK11_\|NSS_\)' "$WORK/symbols.txt"; then
  fallback "the built libsrtp2.a still references NSS"
fi

echo "libsrtp2 $VERSION" >"$WORK/prefix/source"
touch "$WORK/prefix/complete"
rm -rf "$LIB_DIR"
mv -T "$WORK/prefix" "$LIB_DIR"
say "libsrtp2 $VERSION (OpenSSL) ready in $LIB_DIR"
printf 'variant=openssl-static\nprefix=%s\nsource=%s\n' "$LIB_DIR" "libsrtp2 $VERSION"
