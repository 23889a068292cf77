#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, then runs `npm test`
# (build, lint, unit tests, end-to-end tests with real ISOs booted in QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
make_iso_use_node
npm test
