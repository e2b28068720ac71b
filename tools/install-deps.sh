#!/bin/sh
# install-deps.sh - the Debian packages dpsim needs to build and test.
# Runs apt-get as root (directly, or through sudo when available).
set -eu
PACKAGES="gcc meson ninja-build pkg-config python3 libpng-dev libjpeg62-turbo-dev libwebp-dev
libgif-dev zlib1g-dev libcurl4-openssl-dev"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
