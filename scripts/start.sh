#!/usr/bin/env bash
# The README's main command (`npm start`): installs what is missing, then runs the whole pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
CHAINSCREEN_NO_BROWSER=1 bash scripts/ensure-deps.sh
exec npx tsx scripts/start.ts "$@"
