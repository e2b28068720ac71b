#!/bin/bash
# test_precision_cli.sh - --precision fp32|bf16 on the commands that load a
# model: usage errors exit 2; bf16 under DPSIM_ISA=avx2 (or on a CPU without
# AVX512-BF16) exits 1 naming AVX512-BF16; where the CPU has it, bf16 prints
# precision=bf16 in the provenance and a distance close to fp32's.
DPSIM_TEST_NAME=precision
source "$(dirname "$0")/harness.sh"

expect 2 "--precision 'fp16': expected fp32 or bf16" -- "$DPSIM" compare --precision fp16 "$EX/ref.png" "$EX/blur.png"
expect 2 "--precision 'BF16': expected fp32 or bf16" -- "$DPSIM" features --precision BF16 -o "$TMP/x.dpf" "$EX/ref.png"
expect 2 "expected fp32 or bf16" -- "$DPSIM" eval 2afc --precision "" "$TMP"
expect 2 "unknown or needs a value" -- "$DPSIM" compare "$EX/ref.png" "$EX/blur.png" --precision
expect 0 "--precision P" -- "$DPSIM" compare --help
expect 0 "--precision P" -- "$DPSIM" features --help

if [ -z "${DPSIM_WEIGHTS:-}" ]; then
    echo "skip: the model-loading checks need DPSIM_WEIGHTS"
    finish
    exit $?
fi
expect 1 "needs a CPU with AVX512-BF16.*lowered by .DPSIM_ISA" -- \
    env DPSIM_ISA=avx2 "$DPSIM" compare --precision bf16 "$EX/ref.png" "$EX/blur.png"
expect 0 "" -- "$DPSIM" compare --precision fp32 "$EX/ref.png" "$EX/blur.png"
if ! grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
    expect 1 "needs a CPU with AVX512-BF16" -- "$DPSIM" compare --precision bf16 "$EX/ref.png" "$EX/blur.png"
    finish
    exit $?
fi
expect 0 " precision=bf16 " -- "$DPSIM" compare --precision bf16 "$EX/ref.png" "$EX/blur.png"
capture "$DPSIM" compare -q "$EX/ref.png" "$EX/blur.png"
d32=$out
capture "$DPSIM" compare -q --precision bf16 "$EX/ref.png" "$EX/blur.png"
d16=$out
if awk -v a="$d32" -v b="$d16" 'BEGIN { r = (b - a) / a; exit !(r < 0.02 && r > -0.02) }'; then
    ok
else
    bad "bf16 distance $d16 is not within 2% of fp32's $d32"
fi
# features written in bf16 are refused by an fp32 comparison
expect 0 "" -- "$DPSIM" features -q --precision bf16 -o "$TMP/bf16.dpf" "$EX/ref.png" "$EX/blur.png"
expect 1 "made with precision bf16, this model uses fp32" -- "$DPSIM" compare -q --all-pairs "$TMP/bf16.dpf"
expect 0 "" -- "$DPSIM" compare -q --precision bf16 --all-pairs "$TMP/bf16.dpf"
finish
