#!/usr/bin/env bash
# The main job on a built-in demo: installs what is missing, builds the Debian demo bootkit
# the first time (cached), builds a real installer ISO from it and prints how to boot it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
make_iso_use_node
node scripts/demo.mjs
