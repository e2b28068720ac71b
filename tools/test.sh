#!/bin/sh
# test.sh - build (if needed) and run every test suite; the README's test
# command. Extra arguments go to `meson test` (e.g. --suite unit).
# The real-weights checks use $DPSIM_WEIGHTS (default: ../shared/weights
# next to the repository, when it exists).
set -eu
cd "$(dirname "$0")/.."
BUILD=${DPSIM_BUILD_DIR:-build}
if [ -z "${DPSIM_WEIGHTS:-}" ] && [ -d ../shared/weights ]; then
    DPSIM_WEIGHTS=$(cd ../shared/weights && pwd)
    export DPSIM_WEIGHTS
fi
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=release >"$BUILD.setup.log" 2>&1 ||
    { cat "$BUILD.setup.log" >&2; exit 1; }
ninja -C "$BUILD" >"$BUILD/build.log" 2>&1 || { cat "$BUILD/build.log" >&2; exit 1; }
set +e
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@" | tee "$BUILD/test-summary.txt"
rc=$?
set -e
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$BUILD/test-summary.txt")
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$BUILD/test-summary.txt")
echo "${ok:-0} passed, ${fail:-0} failed"
exit $rc
