#!/usr/bin/env bash
# test_eval_cli.sh - `dpsim eval`, `dpsim distort`, `dpsim train`, `dpsim adapt`
# from the shell: usage errors (exit 2), data errors (exit 1) naming the file,
# and with the real weights the fixtures' known scores (tests/eval/fixtures,
# made by tools/scripts/make_bapps_fixtures.py). Usage: test_eval_cli.sh DPSIM_BINARY
set -u
DPSIM_TEST_NAME=cli-eval
. "$(dirname "$0")/harness.sh"
FIX="$SRC/tests/eval/fixtures"

# ---- eval: usage and data errors ----
expect 0 "dpsim eval 2afc dataset/2afc/val" -- "$DPSIM" eval --help
expect 2 "mode 'abx': expected 2afc, jnd or mos" -- "$DPSIM" eval abx "$FIX"
expect 2 "expected a mode" -- "$DPSIM" eval 2afc
expect 2 "--csv and --json exclude each other" -- "$DPSIM" eval 2afc --csv --json "$FIX/2afc"
expect 2 "--threads '0'" -- "$DPSIM" eval 2afc --threads 0 "$FIX/2afc"
# the model options' rules are those of compare (model_opts)
expect 2 "dists: defined on vgg only, got --net alex" -- "$DPSIM" eval 2afc --net alex --method dists "$FIX/2afc"
expect 2 "dists: has its own preprocessing" -- "$DPSIM" eval 2afc --method dists --version 0.0 "$FIX/2afc"
mkdir -p "$TMP/empty"
if [ -n "${DPSIM_WEIGHTS:-}" ]; then
    expect 1 "dataset '.*empty': no 2AFC category" -- "$DPSIM" eval 2afc -q "$TMP/empty"
    expect 1 "not a folder" -- "$DPSIM" eval jnd -q "$TMP/none"
    expect 1 "no JND category" -- "$DPSIM" eval jnd -q "$FIX/2afc"
    # a broken judgment names its file
    cp -r "$FIX/2afc/val/ties" "$TMP/ties"
    printf 'garbage' > "$TMP/ties/judge/000001.npy"
    expect 1 "npy '.*ties/judge/000001.npy': no NumPy magic" -- "$DPSIM" eval 2afc -q "$TMP/ties"
    cp "$FIX/2afc/val/ties/judge/000001.npy" "$TMP/ties/judge/"
    rm "$TMP/ties/p1/000002.png"
    expect 1 "has no partner '.*p1/000002.png'" -- "$DPSIM" eval 2afc -q "$TMP/ties"
    printf 'reference,score\nref.png,1\n' > "$TMP/bad.csv"
    expect 1 "csv '.*bad.csv': no column 'distorted'" -- "$DPSIM" eval mos -q "$TMP/bad.csv"
    # absolute paths are taken as they are
    printf 'reference,distorted,score\n%s,%s,4\n%s,%s,x\n' "$FIX/mos/ref.png" "$FIX/mos/dist0.png" \
        "$FIX/mos/ref.png" "$FIX/mos/dist1.png" > "$TMP/mos.csv"
    expect 1 "line 3: score 'x' is not a number" -- "$DPSIM" eval mos -q --csv "$TMP/mos.csv"

    # ---- eval: the fixtures' known scores ----
    expect 0 "^overall +10 +67\.92$" -- "$DPSIM" eval 2afc -q "$FIX/2afc"
    expect 0 "^val/p0_is_ref,4,53\.75$" -- "$DPSIM" eval 2afc -q --csv "$FIX/2afc"
    expect 0 "^val/ties,3,50\.00$" -- "$DPSIM" eval 2afc -q --csv "$FIX/2afc"
    expect 0 "^val/p1_is_ref,3,100\.00$" -- "$DPSIM" eval 2afc -q --csv "$FIX/2afc"
    expect 0 "^pooled,10,66\.50$" -- "$DPSIM" eval 2afc -q --csv --no-lin --net squeeze "$FIX/2afc"
    expect 0 "^\.,3,50\.00$" -- "$DPSIM" eval 2afc -q --csv "$FIX/2afc/val/ties"
    expect 0 "\"score\": 87\.48" -- "$DPSIM" eval jnd -q --json "$FIX/jnd"
    expect 0 "\"srocc\": -1\.000000, \"krocc\": -1\.000000" -- "$DPSIM" eval mos -q --json "$FIX/mos/mos.csv"
    expect 0 "net=squeezenet1_1" -- "$DPSIM" eval 2afc "$FIX/2afc/val/ties"

    # ---- train: the weights load with --lin; a seed fixes every bit ----
    T="--batch 2 --lr 0.01 --epochs 1 --decay-epochs 1 -q"
    expect 0 "" -- "$DPSIM" train $T --seed 4 --out "$TMP/w1.safetensors" "$FIX/2afc"
    expect 0 "" -- "$DPSIM" train $T --seed 4 --out "$TMP/w2.safetensors" --log "$TMP/log2.csv" "$FIX/2afc"
    cmp -s "$TMP/w1.safetensors" "$TMP/w2.safetensors" && ok || bad "same seed, different weights"
    cmp -s "$TMP/w1.csv" "$TMP/log2.csv" && ok || bad "same seed, different log"
    # a cache limit too small for the differences: batches recomputed each epoch, same bits
    expect 0 "" -- "$DPSIM" train $T --seed 4 --cache-gib 0.0000001 --out "$TMP/w5.safetensors" "$FIX/2afc"
    cmp -s "$TMP/w1.safetensors" "$TMP/w5.safetensors" && ok || bad "streamed training differs from cached"
    expect 0 "^epoch,lr,loss,train_2afc,val_2afc,sync$" -- cat "$TMP/w1.csv"
    expect 0 "^2,0.01," -- cat "$TMP/w1.csv"
    expect 0 "^val/ties,3,50\.00$" -- "$DPSIM" eval 2afc -q --csv --lin "$TMP/w1.safetensors" "$FIX/2afc"
    expect 1 "made for method 'spatial', expected 'mean'" -- "$DPSIM" eval 2afc -q --method mean --lin "$TMP/w1.safetensors" "$FIX/2afc"
    expect 1 "made for method 'spatial', expected 'spatial\+sort'" -- "$DPSIM" train $T --method spatial+sort --init "$TMP/w1.safetensors" --out "$TMP/w3.safetensors" "$FIX/2afc"
    expect 0 "" -- "$DPSIM" train $T --method gram --out "$TMP/g.safetensors" --val "$FIX/2afc/val/ties" "$FIX/2afc"
    expect 0 "^\.,3,50\.00$" -- "$DPSIM" eval 2afc -q --csv --method gram --lin "$TMP/g.safetensors" "$FIX/2afc/val/ties"
    expect 0 "" -- "$DPSIM" train $T --init "$TMP/w1.safetensors" --out "$TMP/w4.safetensors" "$FIX/2afc"
    expect 1 "no 2AFC category" -- "$DPSIM" train $T --out "$TMP/x.safetensors" "$FIX/jnd"
    [ ! -e "$TMP/x.safetensors" ] && ok || bad "a failed training left an output"

    # ---- adapt: a short run on the fixtures' reference images ----
    mkdir -p "$TMP/imgs"
    for f in "$FIX"/2afc/val/*/ref/*.png; do cp "$f" "$TMP/imgs/$(basename "$(dirname "$(dirname "$f")")")_$(basename "$f")"; done
    A="--epochs 1 --decay-epochs 1 --batch 4 --lr 0.01 --size 32 --draws 1"
    expect 0 "^held-out +2 +2 +[0-9.]+ +[0-9.]+$" -- "$DPSIM" adapt -q $A --images "$TMP/imgs" --ranking hue,blur,zoom --out "$TMP/a.safetensors"
    expect 0 "^heldout,2,2," -- cat "$TMP/a.report.csv"
    expect 0 "^epoch,lr,loss" -- cat "$TMP/a.csv"
    expect 0 "^second +6 +6 " -- "$DPSIM" adapt -q $A --images "$TMP/imgs" --val-images "$FIX/jnd/val/mixed/p0" --ranking darken,rotate --negatives --out "$TMP/b.safetensors"
    expect 0 "^[0-9.]+$" -- "$DPSIM" compare -q --lin "$TMP/a.safetensors" "$FIX/mos/ref.png" "$FIX/mos/dist1.png"
    # user triplets (absolute paths); each image is listed once however often it is used
    printf 'reference,p0,p1,judge\n' > "$TMP/t2.csv"
    for i in 0 1 2 3 4 5 6 7 8 9; do
        echo "$FIX/mos/ref.png,$FIX/mos/dist$((i % 6)).png,$FIX/mos/dist$(((i + 3) % 6)).png,$((i % 2))"
    done >> "$TMP/t2.csv"
    expect 0 "" -- "$DPSIM" adapt -q --epochs 1 --decay-epochs 1 --triplets "$TMP/t2.csv" --out "$TMP/t.safetensors"
    printf 'reference,p0,p1,judge\nnone.png,a.png,b.png,1\n' > "$TMP/t3.csv"
    expect 1 "none.png" -- "$DPSIM" adapt -q --triplets "$TMP/t3.csv" --out "$TMP/t3.safetensors"
fi

# ---- train: usage ----
expect 0 "ranking head" -- "$DPSIM" train --help
expect 2 "--out FILE.safetensors is required" -- "$DPSIM" train "$FIX/2afc"
expect 2 "--method dists" -- "$DPSIM" train --method dists --out "$TMP/x.safetensors" "$FIX/2afc"
expect 2 "--lin/--no-lin do not apply" -- "$DPSIM" train --no-lin --out "$TMP/x.safetensors" "$FIX/2afc"
expect 2 "--dropout '1'" -- "$DPSIM" train --dropout 1 --out "$TMP/x.safetensors" "$FIX/2afc"
expect 2 "at least one epoch" -- "$DPSIM" train --epochs 0 --decay-epochs 0 --out "$TMP/x.safetensors" "$FIX/2afc"

# ---- adapt: usage ----
expect 0 "most similar first" -- "$DPSIM" adapt --help
expect 2 "expected --images DIR and --ranking LIST" -- "$DPSIM" adapt --out "$TMP/x.safetensors"
expect 2 "--ranking 'blur,blur'" -- "$DPSIM" adapt --images "$TMP" --ranking blur,blur --out "$TMP/x.safetensors"
expect 2 "--ranking 'blur'" -- "$DPSIM" adapt --images "$TMP" --ranking blur --out "$TMP/x.safetensors"
expect 2 "--triplets excludes" -- "$DPSIM" adapt --triplets x.csv --images "$TMP" --out "$TMP/x.safetensors"
expect 2 "--init does not apply" -- "$DPSIM" adapt --init x --images "$TMP" --ranking blur,hue --out "$TMP/x.safetensors"
expect 2 "--size '3'" -- "$DPSIM" adapt --size 3 --images "$TMP" --ranking blur,hue --out "$TMP/x.safetensors"

# ---- distort ----
IMG="$SRC/examples/ref.png"
expect 0 "rotate +DEG" -- "$DPSIM" distort --help
expect 2 "kind 'sharpen': expected rotate" -- "$DPSIM" distort sharpen "$IMG" "$TMP/x.png"
expect 2 "--param 'x': expected one number" -- "$DPSIM" distort rotate --param x "$IMG" "$TMP/x.png"
expect 2 "--param '4,2': expected K,SIGMA with an odd K" -- "$DPSIM" distort blur --param 4,2 "$IMG" "$TMP/x.png"
expect 2 "--param and --seed exclude each other" -- "$DPSIM" distort hue --param 0.1 --seed 2 "$IMG" "$TMP/x.png"
expect 2 "expected KIND IN OUT" -- "$DPSIM" distort hue "$IMG"
expect 1 "nothing.png" -- "$DPSIM" distort hue "$TMP/nothing.png" "$TMP/x.png"
expect 1 "blur: kernel 3, sigma -1" -- "$DPSIM" distort blur --param 3,-1 "$IMG" "$TMP/x.png"
# rotating twice by 90 is rotating by 180 (8-bit values move exactly)
"$DPSIM" distort rotate -q --param 90 "$SRC/tests/eval/fixtures/mos/ref.png" "$TMP/r90.png"
"$DPSIM" distort rotate -q --param 90 "$TMP/r90.png" "$TMP/r180a.png"
"$DPSIM" distort rotate -q --param 180 "$SRC/tests/eval/fixtures/mos/ref.png" "$TMP/r180b.png"
cmp -s "$TMP/r180a.png" "$TMP/r180b.png" && ok || bad "rotate 90 twice differs from rotate 180"
# a seed fixes the draw; the parameters are printed
expect 0 "^dpsim: blur (11|13|15|17|19|21),[0-9.]+$" -- "$DPSIM" distort blur --seed 5 "$IMG" "$TMP/b1.png"
"$DPSIM" distort blur -q --seed 5 "$IMG" "$TMP/b2.png"
cmp -s "$TMP/b1.png" "$TMP/b2.png" && ok || bad "same seed, different blur"

finish
