#!/bin/sh
# run.sh - build the libFuzzer targets and run each for a while, one at a time.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]    (default 60 s; image checkpoint safetensors featfile npy csv)
# The committed seeds (tests/fuzz/corpus/<target>) are copied into a working
# corpus under $FUZZ_WORK (default <build>/fuzz-work), so runs build on each
# other without touching the repository. A crash, leak, timeout or OOM leaves
# its input in $FUZZ_WORK and makes the script fail. Needs clang.
set -eu
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-image checkpoint safetensors featfile npy csv}
BUILD=${DPSIM_FUZZ_BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK:-$BUILD/fuzz-work}
[ -f "$BUILD/build.ninja" ] || CC=clang meson setup "$BUILD" -Dfuzz=true -Dtests=false \
    -Db_lundef=false --buildtype=debugoptimized >"$BUILD.setup.log" 2>&1 ||
    { cat "$BUILD.setup.log" >&2; exit 1; }
ninja -C "$BUILD" --quiet
failed=0
for t in $TARGETS; do
    mkdir -p "$WORK/$t"
    cp -n tests/fuzz/corpus/"$t"/* "$WORK/$t"/
    log=$WORK/$t.log
    set +e
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=64 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=30 \
        -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
        -dict=tests/fuzz/"$t".dict -artifact_prefix="$WORK/$t-" "$WORK/$t" >"$log" 2>&1
    rc=$?
    set -e
    stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 |
        sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 execs, /; s/ lim: [0-9]+//')
    if [ $rc -eq 0 ]; then
        echo "fuzz_$t: ok in ${SECONDS_EACH}s: $stats"
    else
        echo "fuzz_$t: FAILED (rc $rc): $stats; log $log"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
        failed=1
    fi
done
exit $failed
