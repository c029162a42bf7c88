#!/usr/bin/env bash
# Installs what the project needs on a fresh machine (idempotent, quick when already done):
# npm dependencies, and from Debian redis-server (Redis) and chromium (browser tests).
# Kafka's jars come from Maven Central on first start (infra/local/kafka.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ "${CHAINSCREEN_NO_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is required (Java 17+ and Maven run the Kafka broker)" >&2; exit 1; }
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] installing from Debian: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
