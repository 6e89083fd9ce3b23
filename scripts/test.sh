#!/usr/bin/env bash
# Install everything the tests need (system packages, a virtual environment
# with the project and its dev extras) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng sox libsndfile1 ffmpeg libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins
              faketime        # a machine clock set back: tests/test_sweep_hostile9.py
              fusefat dosfstools e2fsprogs openssl  # FAT sticks (conftest.py fat_mount), an ext4 image, TLS
              chromium tmux   # tmux: the live view end to end (tests/test_live_capture.py); chromium: HTML reports checked in a real headless browser (tests/test_report.py)
              gcc libc6-dev python3-dev)  # the compiled kernels (prosody/_kernels.c, built by pip install -e .)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
# the kernels must have been built here: their tests against the numpy code then run instead of skipping
export PROSODY_REQUIRE_KERNELS=1
exec .venv/bin/python -m pytest "$@"
