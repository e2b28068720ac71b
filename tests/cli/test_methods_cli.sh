#!/usr/bin/env bash
# test_methods_cli.sh - `dpsim compare --method ...`: every invalid combination
# is a usage error (exit 2) naming the problem; with the real weights, every
# method runs, is symmetric, gives 0 for identical images, and its per-layer
# terms add up to the distance. Usage: test_methods_cli.sh DPSIM_BINARY
set -u
DPSIM_TEST_NAME=cli-methods
. "$(dirname "$0")/harness.sh"

A="$EX/ref.png" B="$EX/blur.png"
expect 2 "--method 'lpips': expected spatial, mean" -- "$DPSIM" compare --method lpips "$A" "$B"
expect 2 "--norm and --no-norm exclude each other" -- "$DPSIM" compare --norm --no-norm "$A" "$B"
for m in mean sort gram dists; do
    expect 2 "method $m has no spatial term" -- "$DPSIM" compare --method $m --map x.png "$A" "$B"
    expect 2 "method $m has no spatial term" -- "$DPSIM" compare --method $m --map-raw x.npy "$A" "$B"
done
expect 2 "--dists-resize needs --method dists" -- "$DPSIM" compare --dists-resize "$A" "$B"
expect 2 "defined on vgg only, got --net squeeze" -- "$DPSIM" compare --method dists --net squeeze "$A" "$B"
expect 2 "dists: has no channel normalisation" -- "$DPSIM" compare --method dists --no-norm "$A" "$B"
expect 2 "dists: has no channel normalisation" -- "$DPSIM" compare --method dists --norm "$A" "$B"
expect 2 "dists: always has the pixel layer" -- "$DPSIM" compare --method dists --pixel-layer "$A" "$B"
expect 2 "dists: has its own preprocessing" -- "$DPSIM" compare --method dists --version 0.0 "$A" "$B"
expect 2 "dists: uses its own taps" -- "$DPSIM" compare --method dists --taps 3,8 "$A" "$B"
expect 0 "--method M" -- "$DPSIM" compare --help
expect 0 "--save-images DIR" -- "$DPSIM" probe --help
expect 2 "--net 'resnet': expected squeeze" -- "$DPSIM" probe --net resnet
expect 2 "unexpected argument 'x'" -- "$DPSIM" probe x
expect 1 "no trunk weights found" -- env DPSIM_WEIGHTS="$TMP/none" HOME="$TMP" "$DPSIM" probe --net all

if [ -z "${DPSIM_WEIGHTS:-}" ]; then
    echo "DPSIM_WEIGHTS not set: skipping the checks that need the real weights"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0 || exit 1
fi

# an LPIPS lin file weighs the spatial term only
expect 1 "an LPIPS lin file weighs the spatial term only" -- \
    "$DPSIM" compare --method mean --lin "$DPSIM_WEIGHTS/lpips/v0.1/squeeze.pth" "$A" "$B"
# vgg16 trunk is not on these machines: dists fails with a clear data error
if [ ! -e "$DPSIM_WEIGHTS/vgg16/features.pth" ] && [ ! -e "$DPSIM_WEIGHTS/vgg16-397923af.pth" ]; then
    expect 1 "vgg16 trunk weights not found" -- env HOME=/nonexistent "$DPSIM" compare --method dists "$A" "$B"
fi
for m in spatial mean sort spatial+mean spatial+sort gram; do
    for flags in "" "--no-norm" "--pixel-layer"; do
        out=$("$DPSIM" compare -q --method $m $flags --per-layer "$A" "$B") || { bad "$m $flags failed"; continue; }
        n=$(wc -l <<<"$out")
        want=8; [ "$flags" = "--pixel-layer" ] && want=9
        [ "$n" -eq "$want" ] && ok || bad "$m $flags: $n lines"
        [ "$flags" != "--pixel-layer" ] || grep -q "^pixel " <<<"$out" && ok || bad "$m $flags: no pixel line"
        awk 'NR == 1 { d = $1 } NR > 1 { s += $2 } END { e = d - s; if (e < 0) e = -e; exit !(e <= 1e-6 * d) }' <<<"$out" \
            && ok || bad "$m $flags: per-layer terms do not sum to the distance: $out"
        d1=$(head -1 <<<"$out")
        d2=$("$DPSIM" compare -q --method $m $flags "$B" "$A")
        [ "$d1" = "$d2" ] && ok || bad "$m $flags asymmetric: $d1 vs $d2"
        d0=$("$DPSIM" compare -q --method $m $flags "$A" "$A")
        [ "$d0" = 0 ] && ok || bad "$m $flags: d(a,a) = $d0"
    done
    expect 0 "method=${m/+/\\+} norm=off" -- "$DPSIM" compare --method $m --no-norm "$A" "$B"
done
expect 0 "method=gram norm=off" -- "$DPSIM" compare --method gram "$A" "$B"
expect 0 "method=gram norm=on" -- "$DPSIM" compare --method gram --norm "$A" "$B"
expect 0 "" -- "$DPSIM" compare -q --method spatial+mean --map-raw "$TMP/map.npy" "$A" "$B"
[ -s "$TMP/map.npy" ] && ok || bad "spatial+mean wrote no map"
# the probe table: spatial fails translation, mean and sort pass it (SPEC section 9)
"$DPSIM" probe --json --save-images "$TMP/probe" >"$TMP/probe.json" && ok || bad "probe failed"
python3 - "$TMP/probe.json" <<'PY' && ok || bad "probe json: $(cat "$TMP/probe.json")"
import json, sys
j = json.load(open(sys.argv[1]))
rows = {(r["method"], r["norm"]): r for r in j["rows"]}
assert len(rows) == 12, rows
assert rows[("spatial", "on")]["translate"] == 0 and rows[("spatial", "off")]["translate"] == 0
for m in ("mean", "sort"):
    assert rows[(m, "on")]["translate"] == 5 and rows[(m, "off")]["translate"] == 5
PY
# 7 references + 11 inversion pairs + 5 translation pairs + 6 scenes with 5
# rotations + 5 stain triples (tools/dpsim/probe.h)
[ "$(ls "$TMP/probe" | wc -l)" -eq $((7 + 11 * 2 + 5 * 2 + 6 * 6 + 5 * 3)) ] && ok || bad "probe images: $(ls "$TMP/probe" | wc -l)"
finish
