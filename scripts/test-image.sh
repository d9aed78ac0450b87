#!/usr/bin/env bash
# Build the local test image berth-test/busybox:latest from docker/testimage/.
#
# FROM scratch plus Debian's static busybox (package busybox-static), built
# with the classic builder (no BuildKit on Debian's Docker 20.10). The image
# carries a label with a hash of the recipe (the files in docker/testimage/
# and the busybox binary); when the image exists with the same hash, nothing
# is built.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECIPE="$ROOT/docker/testimage"
IMAGE="${BERTH_TEST_IMAGE:-berth-test/busybox:latest}"
BUSYBOX="${BUSYBOX:-/bin/busybox}"
LABEL="org.berth.test.recipe"

if [ ! -x "$BUSYBOX" ]; then
    echo "test-image: $BUSYBOX missing (apt-get install busybox-static, or 'make deps')" >&2
    exit 1
fi
# The image has no libc: the binary must be statically linked. Debian's
# plain `busybox` package puts a dynamic one at the same path.
if command -v readelf >/dev/null 2>&1; then
    dynamic() { readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
else
    dynamic() { ! LC_ALL=C ldd "$1" 2>&1 | grep -q 'not a dynamic executable'; }
fi
if dynamic "$BUSYBOX"; then
    echo "test-image: $BUSYBOX is dynamically linked; install busybox-static" >&2
    exit 1
fi

hash="$(
    cd "$RECIPE"
    { find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; sha256sum <"$BUSYBOX"; } \
        | sha256sum | cut -c1-16
)"

current="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [ "$current" = "$hash" ]; then
    echo "test-image: $IMAGE is up to date ($hash)"
    exit 0
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp -a "$RECIPE/." "$ctx/"
cp "$BUSYBOX" "$ctx/busybox"

echo "test-image: building $IMAGE ($hash)"
DOCKER_BUILDKIT=0 docker build --quiet --label "$LABEL=$hash" -t "$IMAGE" "$ctx"

# A quick check that the image runs at all.
out="$(docker run --rm "$IMAGE" echo ok)"
if [ "$out" != "ok" ]; then
    echo "test-image: $IMAGE built but does not run (got: $out)" >&2
    exit 1
fi
echo "test-image: $IMAGE built"
