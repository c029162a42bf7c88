#!/usr/bin/env bash
# The README's test command (`npm test`): installs what is missing, then typecheck, lint and
# every test project (unit, integration, e2e) against real Kafka, Redis and embedded ClickHouse
# that test/global-setup.ts starts. Fast iteration: `npm run test:unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint"
npx biome check .
# Projects run one after another: each starts its own Kafka/Redis/ClickHouse, and on two cores
# running them side by side only makes every test slower.
for project in unit integration e2e; do
  echo "[test] vitest --project $project"
  npx vitest run --project "$project" --passWithNoTests "$@"
done
