#!/usr/bin/env bash
# make-iso installer entry point (placeholder until the installer issue lands): announces
# itself on the console so boot tests can see that the unit started.
set -euo pipefail

say() { printf 'MAKE-ISO-INSTALLER: %s\n' "$*" | tee /dev/console >&2 || true; }

version=unknown
[[ -r /etc/make-iso/version ]] && version=$(</etc/make-iso/version)
say "started (version ${version})"
say "FAILED: the installer is not implemented yet"
exit 1
