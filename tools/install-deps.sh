#!/usr/bin/env bash
# System dependencies of the main jobs, from Debian's packages:
#  - Fashion-MNIST (tools/install-fashion-mnist.sh), the data of the cpu-scale reproductions;
#  - OpenBLAS (libopenblas0-pthread) and oneDNN (libdnnl2), which the optional native kernels load
#    at run time (packages/runtime/native; built by `npm install`, which needs oneDNN's headers from
#    libdnnl-dev to compile its oneDNN convolutions and batch norm). Without OpenBLAS training runs on the pure
#    WebAssembly kernels, about 3x slower; without oneDNN the convolutions are im2col + OpenBLAS
#    and batch norm the C loops.
#    Run this before `npm ci` (or rebuild with `node tools/build-native.js` afterwards);
#  - DejaVu Sans (fonts-dejavu-core), the font the PNG plots are drawn in (byte-identical renders
#    need the same font).
# Optional, for `npx nx run tools:bench`: --peers also installs the benchmark peers
# (python3-torch and r-cran-energy, see tools/bench/WORKLOADS.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/install-fashion-mnist.sh"
pkgs=(libopenblas0-pthread libdnnl2 libdnnl-dev fonts-dejavu-core)
if [ "${1:-}" = "--peers" ]; then pkgs+=(python3-torch r-cran-energy); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "already installed: ${pkgs[*]}"
  exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "not root (and no password-less sudo): install these yourself for the native kernels / peers: apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
echo "installed: ${missing[*]}"
