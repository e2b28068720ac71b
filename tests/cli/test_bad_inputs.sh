#!/usr/bin/env bash
# test_bad_inputs.sh - the bad-input matrix of `dpsim compare`: every broken,
# odd or hostile input gives one "dpsim: error:" line naming the file, exit 1
# (data or I/O error; 2 is kept for usage errors), and never a partial or
# damaged --map file; the odd-but-valid image layouts are accepted.
# Needs no real weights: tools/scripts/make_bad_inputs.py writes a
# pseudo-random squeeze trunk and its variants. Usage: test_bad_inputs.sh DPSIM
set -u
DPSIM_TEST_NAME=bad
. "$(dirname "$0")/harness.sh"
IMG=$SRC/tests/image/fixtures
WTS=$SRC/tests/weights/fixtures
G=$TMP/gen
skipped=0

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
python3 "$SRC/tools/scripts/make_bad_inputs.py" "$G" || { echo "make_bad_inputs.py failed"; exit 1; }

skip() { skipped=$((skipped + 1)); echo "skip: $*"; }

# The model of every run unless a case says otherwise: random squeeze trunk + lin.
MODEL=(--trunk "$G/trunk_ok.safetensors" --lin "$G/lin_ok.safetensors")
# A tiny model for the 13x11 fixtures: taps up to features.1 need 3x3 images.
SMALL=(--trunk "$G/trunk_ok.safetensors" --no-lin --taps 1)

# expect_error CODE PATTERN -- command...: exit code, and for errors one "dpsim: error:"
# line matching PATTERN (which names the file)
expect_error() {
    local code=$1 pattern=$2 out rc
    shift 3
    capture "$@"
    if [ "$rc" -ne "$code" ]; then
        bad "$* -> exit $rc, expected $code; output: $out"
    elif [ "$code" -ne 0 ] && ! grep -qE -- "^dpsim: error: .*$pattern" <<<"$out"; then
        bad "$* -> no 'dpsim: error:' line matching /$pattern/: $out"
    elif [ "$code" -eq 0 ] && ! grep -qE '^[0-9]' <<<"$out"; then
        bad "$* -> no distance printed: $out"
    else
        ok
    fi
}

# expect_map_kept PATTERN -- args...: compare with --map over an existing file
# fails with exit 1, leaves that file as it was and no temporary beside it
expect_map_kept() {
    local pattern=$1
    shift 2
    mkdir -p "$TMP/maps"
    printf 'previous map' >"$TMP/maps/map.png"
    expect_error 1 "$pattern" -- "$DPSIM" compare --map "$TMP/maps/map.png" "$@"
    if [ "$(cat "$TMP/maps/map.png")" = "previous map" ] &&
        [ "$(ls "$TMP/maps")" = "map.png" ]; then
        ok
    else
        bad "--map file changed or temporaries left after a failure: $(ls "$TMP/maps")"
    fi
}

# ---- empty and truncated files ----
: >"$TMP/empty.png"
expect_error 1 "'$TMP/empty.png': empty file" -- "$DPSIM" compare "${MODEL[@]}" "$TMP/empty.png" "$EX/ref.png"
for f in png_rgb8.png png_rgb8_interlaced.png jpeg_baseline.jpg jpeg_progressive.jpg \
    bmp_rgb24.bmp gif_anim.gif webp_lossy.webp webp_lossless.webp; do
    size=$(wc -c <"$IMG/$f")
    for keep in 4 $((size / 2)) $((size - 1)); do
        head -c "$keep" "$IMG/$f" >"$TMP/cut_${keep}_$f"
        expect_error 1 "'$TMP/cut_${keep}_$f'" -- "$DPSIM" compare "${SMALL[@]}" "$IMG/$f" "$TMP/cut_${keep}_$f"
    done
done
for f in legacy_param.pth zip_param.pt zip64_param.pt; do
    head -c $(($(wc -c <"$WTS/$f") / 2)) "$WTS/$f" >"$TMP/cut_$f"
    expect_error 1 "'$TMP/cut_$f'" -- "$DPSIM" compare --trunk "$TMP/cut_$f" --no-lin "$EX/ref.png" "$EX/blur.png"
done
head -c 1000000 "$G/trunk_ok.safetensors" >"$TMP/cut_trunk.safetensors"
expect_error 1 "'$TMP/cut_trunk.safetensors'" -- \
    "$DPSIM" compare --trunk "$TMP/cut_trunk.safetensors" --no-lin "$EX/ref.png" "$EX/blur.png"
: >"$TMP/empty.pth"
expect_error 1 "'$TMP/empty.pth'" -- "$DPSIM" compare --trunk "$TMP/empty.pth" --no-lin "$EX/ref.png" "$EX/blur.png"

# ---- zero, huge and too-small sizes ----
expect_error 1 "'$G/zero_width.png'" -- "$DPSIM" compare "${MODEL[@]}" "$G/zero_width.png" "$EX/ref.png"
expect_error 1 "'$G/huge.png': size 65536x65536 exceeds the limit" -- \
    "$DPSIM" compare "${MODEL[@]}" "$G/huge.png" "$EX/ref.png"
expect_error 1 "'$G/big.png': size 40000x2000 exceeds the limit" -- \
    "$DPSIM" compare "${MODEL[@]}" "$EX/ref.png" "$G/big.png"
expect_error 1 "bad_huge_ihdr.png.*exceeds the limit" -- \
    "$DPSIM" compare "${MODEL[@]}" "$IMG/bad_huge_ihdr.png" "$EX/ref.png"
expect_error 1 "bad_huge.bmp.*exceeds the limit" -- "$DPSIM" compare "${MODEL[@]}" "$IMG/bad_huge.bmp" "$EX/ref.png"
truncate -s 1100M "$TMP/sparse.png"
expect_error 1 "'$TMP/sparse.png': larger than the limit of 1073741824 bytes" -- \
    "$DPSIM" compare "${MODEL[@]}" "$TMP/sparse.png" "$EX/ref.png"
rm -f "$TMP/sparse.png"
expect_error 1 "16x16 is too small .*expected at least 17x17" -- \
    "$DPSIM" compare "${MODEL[@]}" "$EX/tiny.png" "$EX/tiny.png"
expect_error 1 "sizes differ: '.*ref.png' is 96x80, '.*small.png' is 64x48" -- \
    "$DPSIM" compare "${MODEL[@]}" "$EX/ref.png" "$EX/small.png"

# ---- image layouts: accepted (gray, gray+alpha, RGBA, 16-bit, palette, interlaced,
#      progressive, animated GIF, any file name) or refused with a reason ----
for f in png_gray8.png png_graya8.png png_rgba8.png png_rgb16.png png_graya16.png png_pal4.png \
    png_pal8_trns.png png_rgb8_interlaced.png png_rgba16_interlaced.png png_gray1.png \
    jpeg_progressive.jpg jpeg_gray.jpg bmp_pal8.bmp bmp_v5_argb32.bmp gif_anim.gif \
    gif_offset.gif webp_lossless_alpha.webp; do
    expect_error 0 "" -- "$DPSIM" compare "${SMALL[@]}" "$IMG/png_rgb8.png" "$IMG/$f"
done
cp "$IMG/png_rgb8.png" "$TMP/really_a_png.jpg"
expect_error 0 "" -- "$DPSIM" compare "${SMALL[@]}" "$IMG/png_rgb8.png" "$TMP/really_a_png.jpg"
expect_error 1 "jpeg_cmyk.jpg': CMYK JPEG is not supported" -- \
    "$DPSIM" compare "${SMALL[@]}" "$IMG/png_rgb8.png" "$IMG/jpeg_cmyk.jpg"
expect_error 1 "bad_rle8.bmp'.*RLE" -- "$DPSIM" compare "${SMALL[@]}" "$IMG/png_rgb8.png" "$IMG/bad_rle8.bmp"
printf 'P6\n13 11\n255\n' >"$TMP/image.ppm"
expect_error 1 "'$TMP/image.ppm': not a supported image" -- \
    "$DPSIM" compare "${SMALL[@]}" "$IMG/png_rgb8.png" "$TMP/image.ppm"

# ---- weights: NaN/Inf, wrong net, wrong shapes, missing tensors, hostile pickles ----
R=("$EX/ref.png" "$EX/blur.png")
expect_error 1 "'$G/trunk_nan.safetensors': tensor 'features.3.squeeze.weight' holds NaN" -- \
    "$DPSIM" compare --trunk "$G/trunk_nan.safetensors" --lin "$G/lin_ok.safetensors" "${R[@]}"
expect_error 1 "'$G/trunk_inf.safetensors': tensor 'features.12.expand3x3.bias' holds Inf" -- \
    "$DPSIM" compare --trunk "$G/trunk_inf.safetensors" --no-lin "${R[@]}"
expect_error 1 "'$G/lin_nan.safetensors': tensor 'lin2.model.1.weight' .*(NaN|nan)" -- \
    "$DPSIM" compare --trunk "$G/trunk_ok.safetensors" --lin "$G/lin_nan.safetensors" "${R[@]}"
expect_error 1 "'$G/lin_shape.safetensors': tensor 'lin6.model.1.weight' has shape 1x513x1x1, expected 1x512x1x1" -- \
    "$DPSIM" compare --trunk "$G/trunk_ok.safetensors" --lin "$G/lin_shape.safetensors" "${R[@]}"
expect_error 1 "'$G/trunk_short.safetensors': missing tensor .*12.squeeze.weight" -- \
    "$DPSIM" compare --trunk "$G/trunk_short.safetensors" --no-lin "${R[@]}"
expect_error 1 "'$G/trunk_ok.safetensors': .*expected 64x3x11x11 \(is this the trunk of another net\?\)" -- \
    "$DPSIM" compare --net alex --trunk "$G/trunk_ok.safetensors" --no-lin "${R[@]}"
expect_error 1 "'$G/lin_ok.safetensors'" -- "$DPSIM" compare --trunk "$G/lin_ok.safetensors" --no-lin "${R[@]}"
expect_error 1 "'$G/trunk_ok.safetensors'" -- \
    "$DPSIM" compare --trunk "$G/trunk_ok.safetensors" --lin "$G/trunk_ok.safetensors" "${R[@]}"
for f in bad_os_system.pth bad_eval.pth bad_getattr.pth bad_zip_os_system.pt bad_expand_bomb.pth \
    bad_cycle.pth bad_huge_string.pth bad_stride_oob.pth bad_zip_crc.pt bad_zip_deflate.pt; do
    expect_error 1 "'$WTS/$f'" -- "$DPSIM" compare --trunk "$WTS/$f" --no-lin "${R[@]}"
done
expect_error 1 "'$IMG/png_rgb8.png'" -- "$DPSIM" compare --trunk "$IMG/png_rgb8.png" --no-lin "${R[@]}"

# ---- paths: missing, directories, unreadable, unwritable ----
expect_error 1 "'$TMP/missing.png'" -- "$DPSIM" compare "${MODEL[@]}" "$TMP/missing.png" "$EX/ref.png"
expect_error 1 "'$TMP': is a directory" -- "$DPSIM" compare "${MODEL[@]}" "$EX/ref.png" "$TMP"
expect_error 1 "'$TMP': is a directory" -- "$DPSIM" compare --trunk "$TMP" --no-lin "${R[@]}"
expect_error 1 "'$TMP': is a directory" -- "$DPSIM" compare --trunk "$G/trunk_ok.safetensors" --lin "$TMP" "${R[@]}"
expect_error 1 "'$TMP/missing.pth'" -- "$DPSIM" compare --trunk "$TMP/missing.pth" --no-lin "${R[@]}"
expect_error 1 "'$TMP': is a directory" -- "$DPSIM" compare "${MODEL[@]}" --map "$TMP" "${R[@]}"
expect_error 1 "'$TMP/no/such/dir/map.png'" -- "$DPSIM" compare "${MODEL[@]}" --map "$TMP/no/such/dir/map.png" "${R[@]}"
[ ! -e "$TMP/no" ] && ok || bad "--map into a missing folder created something"
cp "$EX/ref.png" "$TMP/unreadable.png"
chmod 000 "$TMP/unreadable.png"
if [ -r "$TMP/unreadable.png" ]; then
    skip "unreadable file: running as root, chmod 000 does not stop reads"
else
    expect_error 1 "'$TMP/unreadable.png': Permission denied" -- \
        "$DPSIM" compare "${MODEL[@]}" "$TMP/unreadable.png" "$EX/ref.png"
fi
mkdir "$TMP/readonly"
chmod 555 "$TMP/readonly"
if touch "$TMP/readonly/probe" 2>/dev/null; then
    rm -f "$TMP/readonly/probe"
    skip "unwritable folder: running as root, chmod 555 does not stop writes"
else
    expect_error 1 "'$TMP/readonly/map.png'.*Permission denied" -- \
        "$DPSIM" compare "${MODEL[@]}" --map "$TMP/readonly/map.png" "${R[@]}"
fi
# a FIFO (like a device) must not be replaced by the finished file
mkfifo "$TMP/fifo"
expect_error 1 "'$TMP/fifo': is not a regular file" -- "$DPSIM" compare "${MODEL[@]}" --map "$TMP/fifo" "${R[@]}"
[ -p "$TMP/fifo" ] && ok || bad "--map replaced a FIFO"

# ---- a failed run leaves an existing --map file as it was ----
expect_map_kept "'$TMP/empty.png'" -- "${MODEL[@]}" "$EX/ref.png" "$TMP/empty.png"
expect_map_kept "sizes differ" -- "${MODEL[@]}" "$EX/ref.png" "$EX/small.png"
expect_map_kept "holds NaN" -- --trunk "$G/trunk_nan.safetensors" --no-lin "${R[@]}"
expect_map_kept "too small" -- "${MODEL[@]}" "$EX/tiny.png" "$EX/tiny.png"
# ... and a successful one replaces it with a PNG
printf 'previous map' >"$TMP/maps/map.png"
expect_error 0 "" -- "$DPSIM" compare "${MODEL[@]}" --map "$TMP/maps/map.png" "${R[@]}"
head -c 4 "$TMP/maps/map.png" | grep -q PNG && ok || bad "--map did not write a PNG"

# ---- usage errors stay exit 2 ----
expect_error 2 "unknown or needs a value" -- "$DPSIM" compare "${R[@]}" --map
expect_error 2 "expected two images, got 1" -- "$DPSIM" compare "${MODEL[@]}" "$EX/ref.png"

[ "$skipped" -gt 0 ] && echo "$skipped skipped"
finish
