#!/usr/bin/env bash
# test_cli.sh - the dpsim command line: exit codes, messages, outputs, and the
# parity of `dpsim compare` with the official LPIPS figures on the real
# SqueezeNet (when $DPSIM_WEIGHTS is set). Usage: test_cli.sh DPSIM_BINARY
set -u
DPSIM_TEST_NAME=cli
. "$(dirname "$0")/harness.sh"

# near GOT WANT REL
near() {
    if awk -v g="$1" -v w="$2" -v r="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w; exit !(d <= r * a) }'; then
        ok
    else
        bad "value $1, expected $2 within $3 relative"
    fi
}

# ---- usage errors: exit 2 ----
expect 2 "usage: dpsim" -- "$DPSIM"
expect 0 "examples:" -- "$DPSIM" --help
expect 0 "^dpsim [0-9]+\.[0-9]+\.[0-9]+" -- "$DPSIM" --version
expect 0 "--per-layer" -- "$DPSIM" compare --help
expect 2 "unknown command 'bogus'" -- "$DPSIM" bogus
expect 2 "expected two images, got 1" -- "$DPSIM" compare "$EX/ref.png"
expect 2 "expected two images, got 3" -- "$DPSIM" compare a b c
expect 2 "--net 'resnet': expected squeeze, alex or vgg" -- "$DPSIM" compare --net resnet a b
expect 2 "--version '0.2'" -- "$DPSIM" compare --version 0.2 a b
expect 2 "--taps 'x,1'" -- "$DPSIM" compare --taps x,1 a b
expect 2 "unknown or needs a value" -- "$DPSIM" compare --frobnicate a b
# a long option without its value is named as written (not by its getopt code)
expect 2 "option '--net' is unknown or needs a value" -- "$DPSIM" compare --net
expect 2 "option '--lin' is unknown or needs a value" -- "$DPSIM" eval 2afc x --lin
expect 2 "exclude each other" -- "$DPSIM" compare --resize --crop a b
expect 2 "exclude each other" -- "$DPSIM" compare --no-lin --lin x a b
expect 2 "--map-over needs" -- "$DPSIM" compare --map-over a b
expect 2 "unknown weights command" -- "$DPSIM" weights frobnicate
expect 0 "DPSIM_WEIGHTS" -- "$DPSIM" weights --help

# ---- data errors: exit 1, message names the file ----
printf 'not an image' >"$TMP/text.png"
: >"$TMP/empty.png"
expect 1 "'$TMP/missing.png'" -- "$DPSIM" compare "$TMP/missing.png" "$EX/ref.png"
expect 1 "text.png" -- "$DPSIM" compare "$EX/ref.png" "$TMP/text.png"
expect 1 "empty.png" -- "$DPSIM" compare "$TMP/empty.png" "$EX/ref.png"
expect 1 "is a directory" -- "$DPSIM" compare "$TMP" "$EX/ref.png"
head -c 300 "$EX/ref.png" >"$TMP/truncated.png"
expect 1 "truncated.png" -- "$DPSIM" compare "$EX/ref.png" "$TMP/truncated.png"
expect 1 "sizes differ: '.*ref.png' is 96x80, '.*small.png' is 64x48" -- \
    "$DPSIM" compare "$EX/ref.png" "$EX/small.png"
expect 1 "trunk weights not found" -- \
    env DPSIM_WEIGHTS="$TMP/none" HOME="$TMP" "$DPSIM" compare "$EX/ref.png" "$EX/blur.png"
expect 1 "checkpoint '$TMP/text.png'" -- \
    "$DPSIM" compare --trunk "$TMP/text.png" "$EX/ref.png" "$EX/blur.png"
expect 0 "missing" -- env DPSIM_WEIGHTS="$TMP/none" HOME="$TMP" "$DPSIM" weights
# downloading with no network (a proxy that refuses) fails cleanly and says where files go
expect 1 "hint: without network access" -- env HOME="$TMP" https_proxy=http://127.0.0.1:9 \
    http_proxy=http://127.0.0.1:9 "$DPSIM" weights fetch --dir "$TMP/fetch"
[ -z "$(find "$TMP/fetch" -type f 2>/dev/null)" ] && ok || bad "fetch left files behind"

if [ -z "${DPSIM_WEIGHTS:-}" ]; then
    echo "DPSIM_WEIGHTS not set: skipping the checks that need the real weights"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0 || exit 1
fi

# ---- the real metric ----
DATA=${DPSIM_DATA:-$DPSIM_WEIGHTS/../data}/lpips_examples
# official LPIPS figures on the shared SqueezeNet (issue 2)
d=$("$DPSIM" compare -q "$DATA/ex_ref.png" "$DATA/ex_p0.png") && near "$d" 0.711047 1e-5 || bad "compare failed"
d=$("$DPSIM" compare -q "$DATA/ex_ref.png" "$DATA/ex_p1.png") && near "$d" 0.147902 1e-5 || bad "compare failed"
d=$("$DPSIM" compare -q --version 0.0 "$DATA/ex_ref.png" "$DATA/ex_p0.png") && near "$d" 0.396770 1e-5 || bad "compare failed"
d=$("$DPSIM" compare -q --version 0.0 "$DATA/ex_ref.png" "$DATA/ex_p1.png") && near "$d" 0.086290 1e-5 || bad "compare failed"
# identity and symmetry
d=$("$DPSIM" compare -q "$EX/ref.png" "$EX/ref.png") && [ "$d" = 0 ] && ok || bad "d(a,a) = $d"
d1=$("$DPSIM" compare -q "$EX/ref.png" "$EX/blur.png")
d2=$("$DPSIM" compare -q "$EX/blur.png" "$EX/ref.png")
[ "$d1" = "$d2" ] && ok || bad "asymmetric: $d1 vs $d2"
# blur is closer to the reference than noise
d3=$("$DPSIM" compare -q "$EX/ref.png" "$EX/noise.png")
awk -v a="$d1" -v b="$d3" 'BEGIN { exit !(a > 0 && b > 0) }' && ok || bad "distances $d1 $d3"
# provenance on stderr, none with -q
expect 0 "net=squeezenet1_1 taps=1,4,7,9,10,11,12 method=spatial norm=on version=0.1 lin=4a5350f2 trunk=435cedb3" -- \
    "$DPSIM" compare "$EX/ref.png" "$EX/blur.png"
[ -z "$("$DPSIM" compare -q "$EX/ref.png" "$EX/blur.png" 2>&1 >/dev/null)" ] && ok || bad "-q printed"
# per-layer: 1 + 7 lines whose terms add up to the distance
out=$("$DPSIM" compare -q --per-layer "$EX/ref.png" "$EX/blur.png")
[ "$(wc -l <<<"$out")" -eq 8 ] && ok || bad "per-layer lines: $out"
sum=$(awk 'NR > 1 { s += $2 } END { printf "%.9g", s }' <<<"$out")
near "$sum" "$(head -1 <<<"$out")" 1e-6
# JSON parses and carries the same distance and the provenance
"$DPSIM" compare -q --json --per-layer "$EX/ref.png" "$EX/blur.png" >"$TMP/out.json"
python3 - "$TMP/out.json" "$d1" <<'PY' && ok || bad "json output"
import json, sys
j = json.load(open(sys.argv[1]))
assert abs(j["distance"] - float(sys.argv[2])) <= 1e-8 * j["distance"], j
assert len(j["per_layer"]) == 7 and j["per_layer"][0]["tap"] == 1
assert j["provenance"].startswith("net=squeezenet1_1") and len(j["trunk"]["sha256"]) == 64
PY
# maps: PNG heatmap, blended heatmap, raw .npy of the input size
expect 0 "" -- "$DPSIM" compare -q --map "$TMP/map.png" --map-raw "$TMP/map.npy" "$EX/ref.png" "$EX/blur.png"
expect 0 "" -- "$DPSIM" compare -q --map "$TMP/over.png" --map-over "$EX/ref.png" "$EX/blur.png"
[ "$(head -c 8 "$TMP/map.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok || bad "map.png is not a PNG"
[ -s "$TMP/over.png" ] && ok || bad "no blended map"
python3 - "$TMP/map.npy" <<'PY' && ok || bad "npy header"
import sys
b = open(sys.argv[1], "rb").read()
assert b[:6] == b"\x93NUMPY" and b"'shape': (80, 96)" in b and len(b) % 64 == 80 * 96 * 4 % 64
PY
# size policies
expect 0 "^[0-9.e-]+$" -- "$DPSIM" compare -q --resize "$EX/ref.png" "$EX/small.png"
expect 0 "^[0-9.e-]+$" -- "$DPSIM" compare -q --crop "$EX/ref.png" "$EX/small.png"
# other versions, baseline, custom taps
expect 0 "version=0.0 lin=c27abd3a" -- "$DPSIM" compare --version 0.0 "$EX/ref.png" "$EX/blur.png"
expect 0 "lin=none" -- "$DPSIM" compare --no-lin "$EX/ref.png" "$EX/blur.png"
expect 0 "taps=2,5,12" -- "$DPSIM" compare --no-lin --taps 2,5,12 "$EX/ref.png" "$EX/blur.png"
expect 1 "default taps" -- "$DPSIM" compare --taps 2,5,12 "$EX/ref.png" "$EX/blur.png"
expect 1 "at least 17x17" -- "$DPSIM" compare "$EX/tiny.png" "$EX/tiny.png"
# wrong lin file (alex lin for squeeze) names the tensor
expect 1 "lin1.model.1.weight. has shape 1x192x1x1, expected 1x128x1x1" -- \
    "$DPSIM" compare --lin "$DPSIM_WEIGHTS/lpips/v0.1/alex.pth" "$EX/ref.png" "$EX/blur.png"
expect 0 "squeezenet1_1 trunk +found" -- "$DPSIM" weights
# nothing lost: a failed run leaves an existing output untouched and creates no new one
printf OLD >"$TMP/keep.png"
expect 1 "" -- "$DPSIM" compare --map "$TMP/keep.png" "$EX/ref.png" "$TMP/missing.png"
[ "$(cat "$TMP/keep.png")" = OLD ] && ok || bad "existing map overwritten"
expect 1 "" -- "$DPSIM" compare --map "$TMP/new.png" "$EX/ref.png" "$EX/small.png"
[ ! -e "$TMP/new.png" ] && ok || bad "map written on failure"
expect 1 "nonexistent" -- "$DPSIM" compare --map /nonexistent/dir/m.png "$EX/ref.png" "$EX/blur.png"
[ -z "$(ls "$TMP" | grep tmp-)" ] && ok || bad "temporary files left: $(ls "$TMP")"

finish
