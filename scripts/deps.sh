#!/usr/bin/env bash
# Installs what building, running and testing pacsd need, from Debian's
# archive. Idempotent: only missing packages are installed, so it is cheap
# to call before every build.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  zlib1g-dev libjansson-dev libcmocka-dev
  libjpeg62-turbo-dev libopenjp2-7-dev libcharls-dev libspng-dev
  clang libclang-rt-14-dev
  dcmtk python3-pydicom python3-numpy python3-nibabel
  python3-gdcm python3-pil libgdcm-tools
  libmicrohttpd-dev libsqlite3-dev libssl-dev uuid-dev curl
)

# `deps.sh bench` adds the reference servers the benchmarks compare with.
# Orthanc is started by the benchmark itself, never as the system service.
if [ "${1:-}" = bench ]; then
  packages+=(orthanc orthanc-dicomweb)
fi

# Node and npm drive the DICOMweb client tests. A machine that already has a
# node with npm (NodeSource's nodejs bundles it) keeps it: Debian's npm
# package would conflict with it.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

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
