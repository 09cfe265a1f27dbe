# Shared helpers of build.sh and libsrtp.sh (sourced, not run).

# Prints the URI of the machine's own Debian mirror: the entry of its apt sources whose suite is
# "bookworm" (spec mediasoup-offline-build.md §3: never a host written in the repository).
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

# apt-get options for a private configuration under <dir>: its own sources folder, lists and
# archives, no system source list, no lock on the system's apt state. The system's apt
# configuration is never touched.
private_apt_opts() { # <dir>
  APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$1/sources"
    -o "Dir::State::Lists=$1/lists" -o "Dir::Cache::archives=$1/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "Debug::NoLocking=1"
    -o "Acquire::Retries=1" -o "Acquire::http::Timeout=30")
}
