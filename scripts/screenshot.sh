#!/usr/bin/env bash
# Regenerate docs/screenshot-containers.png (the README's picture of the
# containers page): a few demo containers from the test image, then the
# browser test with BERTH_SCREENSHOT set, which saves the containers page
# there. The demo containers are removed afterwards, whatever happens.
#
# Needs what `make test` needs; run it through `make screenshot`, or after
# `make deps dockerd test-image build`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${BERTH_TEST_IMAGE:-berth-test/busybox:latest}"
OUT="${1:-$ROOT/docs/screenshot-containers.png}"
DEMO=(berth-demo-web berth-demo-worker berth-demo-job)

cleanup() { docker rm -f "${DEMO[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

docker run -d --init --name berth-demo-web -p 127.0.0.1::80 "$IMAGE" httpd -f -p 80 >/dev/null
docker run -d --init --name berth-demo-worker "$IMAGE" sleep 86400 >/dev/null
docker run --name berth-demo-job "$IMAGE" true

mkdir -p "$(dirname "$OUT")"
make --no-print-directory e2e-deps
(cd e2e && BERTH_SCREENSHOT="$OUT" npx --no-install playwright test tests/foundation.spec.ts)
echo "screenshot: $OUT"
