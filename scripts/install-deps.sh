#!/usr/bin/env bash
# Installs the Debian 12 packages splinter needs; a no-op when all are present.
# Usage: scripts/install-deps.sh [--run]   (uses sudo when not root)
#   default: everything to build, run and test (reference checks in numpy, PyTorch, scikit-learn, Jupyter;
#            clang for the fuzz targets)
#   --run:   only what building and running splinter needs (the main job)
set -euo pipefail

packages=(
  build-essential cmake pkg-config ca-certificates
  libgsl-dev libopenblas-dev libhdf5-dev libcyaml-dev libjansson-dev libssl-dev
  libopenmpi-dev openmpi-bin gnuplot-nox libcmocka-dev
)
if [ "${1:-}" != "--run" ]; then
  packages+=(
    git clang libomp-dev hdf5-tools
    python3 python3-numpy python3-h5py python3-torch python3-sklearn python3-pandas python3-matplotlib
    jupyter-nbconvert python3-nbformat python3-ipykernel
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the data sets; a machine may already have Node.js and npm from elsewhere, whose packages
# conflict with Debian's npm, so only install Debian's when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
