#!/usr/bin/env bash
# The README's test command: provisions the host (idempotent), then lint, typecheck and
# every test (unit + integration against real Podman, CRIU, etcd and GlusterFS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
echo "[test] lint"; npx eslint . && npx prettier --check . >/dev/null
echo "[test] typecheck"; npx tsc --noEmit -p . && npx tsc -p src/ui
echo "[test] tests"
exec bash scripts/run-tests.sh all
