#!/usr/bin/env bash
# test_optimize_cli.sh - `dpsim optimize`: usage errors (exit 2) and data errors
# (exit 1) name the problem; with the real weights, 30 Adam steps from noise on
# examples/small.png (64x48) must cut the distance at least in half (it falls
# from 0.78 to 0.31), the CSV has one row per step plus the
# start, the outputs are PNGs, the --mse baseline lowers the MSE, and the same
# seed gives the same bits. Usage: test_optimize_cli.sh DPSIM_BINARY
set -u
DPSIM_TEST_NAME=cli-optimize
. "$(dirname "$0")/harness.sh"

T="$EX/small.png"
expect 0 "--target FILE" -- "$DPSIM" optimize --help
expect 2 "--target FILE and --out FILE.png are required" -- "$DPSIM" optimize --out "$TMP/o.png"
expect 2 "--lr 'x': expected a number" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" --lr x
expect 2 "--steps '2.5': expected a whole number" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" --steps 2.5
expect 2 "--method 'l1': expected spatial" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" --method l1
expect 2 "--method dists: VGG-16 with its own taps" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" --method dists --no-norm
expect 2 "--method dists: VGG-16 with its own taps" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" --net alex --method dists
expect 2 "unexpected argument 'extra'" -- "$DPSIM" optimize --target "$T" --out "$TMP/o.png" extra
expect 2 "option '--bogus' is unknown" -- "$DPSIM" optimize --bogus
expect 1 "missing.png" -- "$DPSIM" optimize --target "$TMP/missing.png" --out "$TMP/o.png"
expect 1 "--init '.*ref.png' is 96x80, the target '.*small.png' is 64x48" -- \
    "$DPSIM" optimize --target "$T" --init "$EX/ref.png" --out "$TMP/o.png"
[ ! -e "$TMP/o.png" ] && ok || bad "a failed run left $TMP/o.png"

if [ -z "${DPSIM_WEIGHTS:-}" ]; then
    echo "DPSIM_WEIGHTS not set: skipping the runs that need the real weights"
    finish
    exit
fi

expect 0 "^distance [0-9.e-]+ mse" -- "$DPSIM" optimize -q --target "$T" --steps 30 \
    --out "$TMP/o.png" --plot "$TMP/plot.png"
[ "$(wc -l < "$TMP/o.csv")" -eq 32 ] && ok || bad "CSV rows: $(wc -l < "$TMP/o.csv"), expected 32"
[ "$(head -1 "$TMP/o.csv")" = "step,distance,mse" ] && ok || bad "CSV header"
for f in o.png plot.png; do
    file "$TMP/$f" | grep -q "PNG image data" && ok || bad "$f is not a PNG"
done
file "$TMP/o.png" | grep -q "64 x 48" && ok || bad "output size: $(file "$TMP/o.png")"
read -r first last < <(awk -F, 'NR == 2 { f = $2 } END { print f, $2 }' "$TMP/o.csv")
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l <= f / 2) }' && ok ||
    bad "30 steps took the distance from $first to $last, expected at most half"
# the baseline: pixel MSE falls
expect 0 "" -- "$DPSIM" optimize -q --mse --target "$T" --steps 30 --out "$TMP/m.png"
read -r first last < <(awk -F, 'NR == 2 { f = $3 } END { print f, $3 }' "$TMP/m.csv")
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l <= f / 3) }' && ok ||
    bad "--mse: 30 steps took the MSE from $first to $last, expected at most a third"
# deterministic: the same run again gives the same bits; another method runs
expect 0 "" -- "$DPSIM" optimize -q --target "$T" --steps 30 --out "$TMP/o2.png"
cmp -s "$TMP/o.png" "$TMP/o2.png" && cmp -s "$TMP/o.csv" "$TMP/o2.csv" && ok || bad "not deterministic"
expect 0 "" -- "$DPSIM" optimize -q --target "$T" --steps 3 --method sort --init gray --out "$TMP/s.png" --csv "$TMP/s.csv"
[ "$(wc -l < "$TMP/s.csv")" -eq 5 ] && ok || bad "--csv FILE not written"

finish
