#!/bin/bash
# test_checkpoint_cli.sh - torchvision checkpoints as users have them: the
# whole model (features and classifier) in the legacy and the zip format, and
# a state dict whose pickle outgrows the first part of the file read. Each
# gives the distance the features-only file gives, the provenance names the
# file's own sha256, and the process stays far below the file's size (the
# classifier's 224 MB are never read).
DPSIM_TEST_NAME=checkpoint
source "$(dirname "$0")/harness.sh"
PY=/usr/bin/python3
if ! [ -x $PY ] || ! $PY -c "import torch, torchvision" 2>/dev/null; then
    echo "torch not found: skipped"
    exit 77
fi
if [ -z "${DPSIM_WEIGHTS:-}" ]; then
    echo "DPSIM_WEIGHTS is not set (the AlexNet lin weights): skipped"
    exit 77
fi

$PY - "$TMP" <<'EOF'
import sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(3)
sd = torchvision.models.alexnet().state_dict()
torch.save(sd, out + "/full_zip.pth")
torch.save(sd, out + "/full_legacy.pth", _use_new_zipfile_serialization=False)
features = {k: v for k, v in sd.items() if k.startswith("features.")}
torch.save(features, out + "/features.pth", _use_new_zipfile_serialization=False)
# a pickle of about 300 KB: many small classifier tensors, then the features
many = {"classifier.extra%05d" % i: torch.zeros(1) for i in range(6000)}
many.update(features)
torch.save(many, out + "/long_pickle.pth", _use_new_zipfile_serialization=False)
EOF

# run_rss COMMAND...: its stdout in $out, its stderr in $err, its peak RSS (KB) in $rss
run_rss() {
    local all
    all=$($PY -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stdout.write(r.stdout)
sys.stderr.write(r.stderr)' "$@" 2>"$TMP/err")
    read -r rc rss <<<"$(head -n1 <<<"$all")"
    out=$(tail -n +2 <<<"$all")
    err=$(cat "$TMP/err")
}

run_rss "$DPSIM" compare --net alex --trunk "$TMP/features.pth" "$EX/ref.png" "$EX/blur.png"
want=$out
[ "$rc" -eq 0 ] && [ -n "$want" ] && ok || bad "features-only trunk: exit $rc: $err"
for f in full_zip full_legacy long_pickle; do
    run_rss "$DPSIM" compare --net alex --trunk "$TMP/$f.pth" "$EX/ref.png" "$EX/blur.png"
    sha=$(sha256sum "$TMP/$f.pth" | cut -c1-8)
    size_kb=$(($(stat -c %s "$TMP/$f.pth") / 1024))
    [ "$rc" -eq 0 ] && [ "$out" = "$want" ] && ok ||
        bad "$f: exit $rc, distance '$out', expected '$want': $err"
    grep -q " trunk=$sha " <<<"$err" && ok || bad "$f: provenance lacks trunk=$sha: $err"
    if [ "$f" != long_pickle ]; then
        [ "$rss" -lt $((size_kb / 3)) ] && ok ||
            bad "$f: peak RSS $rss KB for a file of $size_kb KB (is the classifier read?)"
    fi
done
expect 0 "" -- "$DPSIM" compare -q --net alex --trunk "$TMP/full_legacy.pth" "$EX/ref.png" "$EX/blur.png"
finish
