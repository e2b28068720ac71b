#!/bin/sh
# test_install.sh - install into a scratch prefix, then build examples/compare.c
# against the installed header and library through pkg-config alone, and check
# that the shared library exports only the dpsim_ API.
# Usage: test_install.sh BUILD_DIR
set -eu
BUILD=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/dpsim-install-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
meson configure "$BUILD" -Dprefix="$TMP/prefix" >/dev/null 2>&1
meson install -C "$BUILD" --quiet >/dev/null 2>&1
PC=$(find "$TMP/prefix" -name dpsim.pc)
export PKG_CONFIG_PATH=$(dirname "$PC")
version=$(pkg-config --modversion dpsim)
[ "$version" = "$(meson introspect "$BUILD" --projectinfo | sed 's/.*"version": "\([^"]*\)".*/\1/')" ]
cc -std=c11 -Wall -Werror "$SRC/examples/compare.c" $(pkg-config --cflags --libs dpsim) -o "$TMP/compare"
# d(a,a) = 0 with the weights; without them, a clear "not found"
if LD_LIBRARY_PATH=$(pkg-config --variable=libdir dpsim) "$TMP/compare" "$SRC/examples/ref.png" \
    "$SRC/examples/blur.png" >"$TMP/out" 2>&1; then
    grep -qE '^0\.[0-9]+$' "$TMP/out"
else
    [ -z "${DPSIM_WEIGHTS:-}" ] && grep -q "not found" "$TMP/out"
fi
[ -x "$TMP/prefix/bin/dpsim" ]
LIB=$(find "$TMP/prefix" -name 'libdpsim.so.*.*.*' | head -1)
leaked=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v '^dpsim_' || true)
if [ -n "$leaked" ]; then
    echo "exported non-API symbols: $leaked" >&2
    exit 1
fi
meson configure "$BUILD" -Dprefix=/usr/local >/dev/null 2>&1
echo "install: dpsim $version, pkg-config build ok, $(nm -D --defined-only "$LIB" | grep -c ' dpsim_') API symbols exported"
