#!/usr/bin/env bash
# Installs Fashion-MNIST (IDX files) from Debian's `dataset-fashion-mnist` package.
# As root: apt-get install, files land in /usr/share/datasets/fashion-mnist.
# Otherwise: downloads the .deb with apt-get download and unpacks it into
# ~/.cache/repro/fashion-mnist (the loaders look there too).
set -euo pipefail
pkg=dataset-fashion-mnist
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "Fashion-MNIST already installed in /usr/share/datasets/fashion-mnist"
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y "$pkg" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y "$pkg"
  fi
  echo "Fashion-MNIST installed in /usr/share/datasets/fashion-mnist"
else
  cache="${HOME}/.cache/repro/fashion-mnist"
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download "$pkg")
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$cache"
  echo "Fashion-MNIST unpacked in $cache/usr/share/datasets/fashion-mnist"
fi
