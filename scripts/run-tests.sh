#!/usr/bin/env bash
# Runs lifeboat's tests with Node's built-in test runner (TypeScript through tsx).
#   scripts/run-tests.sh unit         fast tests beside the code (src/**/*.test.ts)
#   scripts/run-tests.sh integration  scenarios against real Podman/CRIU/etcd (test/**/*.test.ts)
#   scripts/run-tests.sh all          both, in one runner (one summary)
#   scripts/run-tests.sh FILE...      the given test files
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/var/lib/lifeboat/bin:$PATH"
# Decisions are logged at info; in test output only warnings and errors are worth the noise.
export LIFEBOAT_LOG_LEVEL=${LIFEBOAT_LOG_LEVEL:-warn}
kind=${1:-all}
case "$kind" in
  unit) mapfile -t files < <(find src -name '*.test.ts' | sort) ;;
  integration) mapfile -t files < <(find test -name '*.test.ts' 2>/dev/null | sort) ;;
  all) mapfile -t files < <( (find src -name '*.test.ts'; find test -name '*.test.ts' 2>/dev/null) | sort) ;;
  *) files=("$@") ;;
esac
if [ ${#files[@]} -eq 0 ]; then echo "no test files for '$kind'" >&2; exit 1; fi
# Integration tests share one machine's namespaces, ports and CPU: one file at a time.
root="${LIFEBOAT_TEST_ROOT:-/var/tmp/lifeboat-test}"
# A run killed before its cleanup hooks leaves Podman services of its test
# hosts behind: stop them so this run starts from a clean machine.
if pgrep -f -- "--root $root/" >/dev/null 2>&1; then
  echo "[test] stopping processes left by an interrupted run under $root" >&2
  pkill -9 -f -- "--root $root/" || true
  sleep 1
fi
rc=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" || rc=$?
# Leave the machine as it was: the tests' scratch space (images, archives) goes too.
rm -rf "$root"
exit $rc
