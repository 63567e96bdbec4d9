#!/usr/bin/env bash
# Opens the bento TUI (after setup, when run from the README's first command).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/bento.js ]] || npm run --silent build
exec node dist/bento.js "$@"
