#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent; skips apt when all
# packages are already present. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  clang-format  # version 14: scripts/format.sh --check runs in .ci/run
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libspdlog-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev
  prometheus-cpp-dev libcurl4-openssl-dev
  prometheus  # promtool: the coordinator's metrics test checks the exposition with it
  openssl  # the TLS tests make a self-signed certificate with its command line
  libgloo-dev
  libpng-dev libjpeg62-turbo-dev libturbojpeg0-dev libwebp-dev
  python3-numpy python3-venv
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
