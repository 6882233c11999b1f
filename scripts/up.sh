#!/usr/bin/env bash
# The README's "bring up" command: provisions this host (idempotent), checks it
# can checkpoint, then brings up a local cluster. Arguments go to `lifeboat up`
# (default: --nodes 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
./bin/lifeboat doctor --no-self-test >/dev/null || ./bin/lifeboat doctor
if [ $# -eq 0 ]; then set -- --nodes 3; fi
exec ./bin/lifeboat up "$@"
