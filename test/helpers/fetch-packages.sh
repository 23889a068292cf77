#!/usr/bin/env bash
# Downloads the Debian packages a bootkit lacks for the given tools, with the libraries they
# pull in: apt resolves them against the bootkit's own dpkg status (what it already has), and
# `apt-get download` fetches exactly those .deb files. Used by test/e2e/packages.test.ts.
#   fetch-packages.sh DPKG_STATUS OUTDIR PACKAGE...
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 DPKG_STATUS OUTDIR PACKAGE..." >&2
    exit 2
fi
status=$(realpath "$1")
out=$(realpath -m "$2")
shift 2

resolve_packages() {
    apt-get -o "Dir::State::status=$status" -s -qq --no-install-recommends install "$@" |
        awk '$1 == "Inst" { print $2 }'
}

download_into() {
    local dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    # apt's sandbox user cannot write a root-owned temp dir; root downloads are fine here
    (cd "$dir" && apt-get -o APT::Sandbox::User=root download -qq "$@")
}

mapfile -t wanted < <(resolve_packages "$@")
if [[ ${#wanted[@]} -eq 0 ]]; then
    echo "fetch-packages: apt resolved nothing to download for: $*" >&2
    exit 1
fi
echo "fetch-packages: ${wanted[*]}" >&2
download_into "$out.tmp" "${wanted[@]}"
rm -rf "$out"
mv "$out.tmp" "$out"
