#!/usr/bin/env bash
# Shared by setup.sh, demo.sh and test.sh: where make-iso keeps its cache and its Node 22.
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
make_iso_cache="${MAKE_ISO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/make-iso}"
make_iso_node_dir="$make_iso_cache/node22"

# Puts a Node >= 22 first on PATH: the system one when new enough, else ours.
make_iso_use_node() {
  local major=0
  if command -v node >/dev/null 2>&1; then
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  fi
  if ((major < 22)) && [[ -x "$make_iso_node_dir/bin/node" ]]; then
    export PATH="$make_iso_node_dir/bin:$PATH"
  fi
}

# The Debian packages of every host tool, one per line, in table order, from data/host-tools.tsv
# (the one list; src/host/tools.ts reads it too). Comment lines start with '#'; the first
# remaining line is the header. Arguments, when given, keep only the tools of those uses
# (build, usb, test): the container image installs the build tools only.
make_iso_host_packages() {
  local lib_dir
  lib_dir="$(dirname "${BASH_SOURCE[0]}")"
  awk -F'\t' -v uses="$*" 'BEGIN { n = split(uses, u, " "); for (i = 1; i <= n; i++) want[u[i]] = 1 }
    /^#/ || NF == 0 { next } !header++ { next } n && !($3 in want) { next } !seen[$2]++ { print $2 }' \
    "$lib_dir/../data/host-tools.tsv"
}

# The packages of make_iso_host_packages USES... that dpkg does not have installed, one per line
# (setup.sh and the container image install only these).
make_iso_missing_packages() {
  local p
  while IFS= read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done < <(make_iso_host_packages "$@")
}
