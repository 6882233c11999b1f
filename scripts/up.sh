#!/usr/bin/env bash
# The README's "bring up" command: provisions this host (idempotent) and shows
# what it can do. Extra arguments go to `lifeboat doctor`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
./bin/lifeboat images build
exec ./bin/lifeboat doctor "$@"
