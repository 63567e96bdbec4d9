#!/usr/bin/env bash
# The test command (npm test): typecheck, lint, bundle, then every vitest project (unit, then the
# integration and e2e tests that boot real guests and drive the real TUI). Ends with one line
# "N passed, N failed" for CI.
set -uo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[[ -d node_modules ]] || fail "node_modules is missing: run bash scripts/setup.sh first"
npx tsc --noEmit -p . || fail "typecheck failed"
npx eslint . || fail "lint failed"
npm run --silent build || fail "bundle failed"
# Integration tests need the guest; build or reuse it so a missing guest fails loudly, not silently.
bash scripts/build-test-guest.sh >/dev/null || fail "building the test guest failed"
# The cloud-like Debian image the image tests boot (cached by its recipe stamp, like the guest).
bash scripts/build-test-image.sh >/dev/null || fail "building the test image failed"

report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (skipped) { console.error("test: skipped tests are not allowed"); process.exit(1); }
  if (r.numTotalTests === 0) { console.error("test: no test ran"); process.exit(1); }
' "$report" || status=1
rm -f "$report"
exit $status
