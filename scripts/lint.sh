#!/usr/bin/env bash
# Lint everything: types (src and tests), eslint, prettier, and shellcheck over every
# tracked or new shell script (installer, fixtures, scripts, CI).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx prettier --check .
mapfile -t shell_files < <(
  git ls-files --cached --others --exclude-standard -- 'installer-scripts/*' 'test/*.sh' 'scripts/*' '.ci/run' 'iso/*' 'templates/*' |
    while read -r f; do
      [[ -f $f ]] || continue
      case $f in
        *.sh | .ci/run) echo "$f" ;;
        *) head -n1 "$f" | grep -qE '^#!.*(ba)?sh' && echo "$f" ;;
      esac
    done
)
shellcheck -x "${shell_files[@]}"
echo "lint: ok (${#shell_files[@]} shell files)"
