#!/usr/bin/env bash
# Makes the container test's base image without a registry (none is reachable here): a Debian
# bookworm debootstrap tree with make-iso's build tools (data/host-tools.tsv, use "build") and
# this machine's Node 22 and npm, committed with buildah as localhost/make-iso-base:KEY. The tree is
# cached as a tarball in $MAKE_ISO_CACHE (default ~/.cache/make-iso)/container-base-KEY, KEY from
# the package list, the Node version and this script, so a machine pays debootstrap once.
# Prints the image name. Stands in for docker.io/library/node:22-bookworm-slim: same Debian
# release, Node and npm at /usr/local/bin like the official image. It trusts what this machine
# trusts (its CA bundle, NODE_EXTRA_CA_CERTS): the npm registry may be reached through a proxy
# with its own CA, and the image build runs `npm ci`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
make_iso_use_node
mirror=${FIXTURE_MIRROR:-http://deb.debian.org/debian}

node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mapfile -t packages < <(make_iso_host_packages build)
packages+=(ca-certificates passwd)
key=$({
  printf '%s\n' "${packages[@]}"
  "$node_bin" --version
  npm --version
  cat /etc/ssl/certs/ca-certificates.crt
  cat "$0"
} | sha256sum | cut -c1-16)
image=localhost/make-iso-base:$key
cache=$make_iso_cache/container-base-$key

if buildah inspect --type image "$image" >/dev/null 2>&1; then
  printf '%s\n' "$image"
  exit 0
fi
if [[ ! -s $cache/rootfs.tar ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/make-iso-container-base.XXXXXX")
  trap 'rm -rf -- "$work"' EXIT
  include=$(IFS=,; printf '%s' "${packages[*]}")
  echo "container-base: debootstrap bookworm with ${include}" >&2
  debootstrap --variant=minbase --include="$include" bookworm "$work/tree" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  install -m 0755 "$node_bin" "$work/tree/usr/local/bin/node"
  mkdir -p "$work/tree/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$work/tree/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/tree/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/tree/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$work/tree/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$work/tree/var/cache/apt/archives/"*.deb "$work/tree/var/lib/apt/lists/"*
  mkdir -p "$cache"
  tar -C "$work/tree" --numeric-owner -cf "$cache/rootfs.tar.tmp" .
  mv "$cache/rootfs.tar.tmp" "$cache/rootfs.tar"
fi
# buildah only (no podman needed): an image from scratch with the tree unpacked into it
ctr=$(buildah from scratch)
buildah add --quiet "$ctr" "$cache/rootfs.tar" / >/dev/null
buildah config --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
printf '%s\n' "$image"
