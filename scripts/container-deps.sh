#!/usr/bin/env bash
# Inside the container image build (Containerfile): installs the Debian packages of make-iso's
# build tools (data/host-tools.tsv, use "build") that the base image lacks, and checks that the
# base brings Node >= 22. A base that already has everything (the test suite's, made offline from
# a debootstrap tree) needs no network here.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

mapfile -t missing < <(make_iso_missing_packages build)
if ((${#missing[@]} > 0)); then
  echo "container-deps: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  rm -rf /var/lib/apt/lists/*
else
  echo "container-deps: the base has every build tool"
fi

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((major < 22)); then
  echo "container-deps: the base image needs Node >= 22 on PATH (found: $(node --version 2>/dev/null || echo none)); use a node:22 base (BASE build argument)" >&2
  exit 1
fi
echo "container-deps: node $(node --version)"
