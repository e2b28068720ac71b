#!/bin/sh
# quickstart.sh - from a fresh clone: install the build dependencies, build
# dpsim, make sure the default weights (SqueezeNet 1.1 + LPIPS v0.1) are
# there (downloading them once into ~/.cache/dpsim unless $DPSIM_WEIGHTS
# already has them), then compare the example images.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >build-setup.log 2>&1 ||
    { cat build-setup.log >&2; exit 1; }
ninja -C build >/dev/null
DPSIM=build/tools/dpsim/dpsim
if ! $DPSIM compare -q examples/ref.png examples/ref.png >/dev/null 2>&1; then
    echo "weights not found: downloading the official SqueezeNet 1.1 and LPIPS files" >&2
    $DPSIM weights fetch --net squeeze
fi
for img in blur noise; do
    printf 'examples/ref.png vs examples/%s.png: ' "$img"
    $DPSIM compare -q examples/ref.png "examples/$img.png"
done
$DPSIM compare examples/ref.png examples/blur.png --map build/blur-map.png >/dev/null
echo "distance map of the blur: build/blur-map.png"
