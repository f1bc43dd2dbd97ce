#!/usr/bin/env bash
# Starts the system as `dotnet run --project AppHost` does, places a few orders and saves screenshots of the Aspire
# dashboard taken in headless Chromium into docs/images (or the folder given as the first argument).
# Installs Debian's chromium and the pinned playwright-core when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
output="${1:-docs/images}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi
npm ci --prefix scripts/screenshots --no-audit --no-fund

dotnet build AppHost -v quiet -nologo
log=$(mktemp)
# The dashboard without its login token, so the browser can open it: only for this local run.
ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true setsid dotnet run --project AppHost --no-build > "$log" 2>&1 &
apphost=$!
trap 'kill -TERM -- -$apphost 2>/dev/null || true; wait $apphost 2>/dev/null || true; rm -f "$log"' EXIT

echo "Waiting for the services to be healthy (AppHost log: $log)"
for port in 5101 5102 5103; do
  for attempt in $(seq 1 240); do
    if curl -sf "http://localhost:$port/health" > /dev/null; then break; fi
    if ! kill -0 $apphost 2>/dev/null; then cat "$log"; exit 1; fi
    if [ "$attempt" -eq 240 ]; then echo "The service on port $port is not healthy after 120 s"; cat "$log"; exit 1; fi
    sleep 0.5
  done
done

node scripts/screenshots/take.mjs "$output"
