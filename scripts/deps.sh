#!/usr/bin/env bash
# Installs what building, running and testing pacsd need, from Debian's
# archive. Idempotent: only missing packages are installed, so it is cheap
# to call before every build.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  zlib1g-dev libjansson-dev libcmocka-dev
  clang libclang-rt-14-dev
  dcmtk python3-pydicom python3-numpy python3-nibabel
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
