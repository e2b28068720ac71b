#!/usr/bin/env bash
# make_optimize_demo.sh - the README's `dpsim optimize` pictures (doc/optimize/):
# a 96x96 crop of a TID2013 reference image reconstructed from the same noise
# by 200 Adam steps (lr 0.01) on the LPIPS distance (SqueezeNet, v0.1) and on
# pixel MSE: doc/optimize/montage.png (target | start | MSE | LPIPS), both runs'
# CSVs and loss curves (the single images stay in a temporary folder).
# Usage: tools/scripts/make_optimize_demo.sh [BUILD_DIR]   (needs DPSIM_WEIGHTS,
# the shared data folder and /usr/bin/python3 with PIL for the crop and montage)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build}
DATA=${DPSIM_DATA:-${DPSIM_WEIGHTS:?set DPSIM_WEIGHTS}/../data}
OUT=$SRC/doc/optimize
DPSIM=$BUILD/tools/dpsim/dpsim
TMP=$(mktemp -d /tmp/dpsim-demo-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
/usr/bin/python3 - "$DATA/tid2013_pairs/ref/I03.bmp" "$TMP/target.png" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h = im.size
im.crop((w // 2 - 48, h // 2 - 48, w // 2 + 48, h // 2 + 48)).save(sys.argv[2])
PY
"$DPSIM" optimize -q --target "$TMP/target.png" --steps 0 --out "$TMP/start.png" \
    --csv "$TMP/start.csv"
"$DPSIM" optimize -q --target "$TMP/target.png" --steps 200 --out "$TMP/lpips.png" \
    --csv "$OUT/lpips.csv" --plot "$OUT/lpips_loss.png"
"$DPSIM" optimize -q --target "$TMP/target.png" --steps 200 --mse --out "$TMP/mse.png" \
    --csv "$OUT/mse.csv" --plot "$OUT/mse_loss.png"
/usr/bin/python3 - "$TMP" "$OUT/montage.png" <<'PY'
import sys
from PIL import Image
ims = [Image.open("%s/%s.png" % (sys.argv[1], n)) for n in ["target", "start", "mse", "lpips"]]
w, h = ims[0].size
m = Image.new("RGB", (4 * w + 3 * 4, h), "white")
for i, im in enumerate(ims):
    m.paste(im, (i * (w + 4), 0))
m.save(sys.argv[2], optimize=True)
PY
rm "$TMP/start.csv"
tail -qn1 "$OUT/lpips.csv" "$OUT/mse.csv"
