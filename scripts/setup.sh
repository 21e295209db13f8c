#!/usr/bin/env bash
# Set up everything PTP needs on a fresh Debian/Ubuntu machine; a second run reuses it all.
#   - WordNet 3.0 from Debian's packages (the offline source of WordNet; needs root or sudo)
#   - a virtual environment in .venv with torch 2.13.0 (CPU build) installed first, then the
#     project (editable) with its pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -f /usr/share/wordnet/index.sense ] && [ -z "${PTP_SKIP_APT:-}" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing WordNet 3.0 (wordnet-base, wordnet-sense-index) from Debian" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wordnet-base wordnet-sense-index >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.ptp-setup-$(sha256sum setup.py scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into .venv (first run: about a minute)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first: 2.13.0 is the CPU build; a bare requirement would pull a CUDA build.
  .venv/bin/python -m pip install -q "torch==${PTP_TORCH_VERSION:-2.13.0}"
  # This project was installed as `ptp` before its rename to ptp-prompt-tuning: remove that copy
  # of itself, never a PyPI `ptp`, so two distributions do not own the same packages.
  if .venv/bin/python -m pip show ptp 2>/dev/null | grep -qxF "Editable project location: $PWD"; then
    .venv/bin/python -m pip uninstall -q -y ptp
    rm -rf ptp.egg-info
  fi
  .venv/bin/python -m pip install -q -e ".[test]"
  rm -f .venv/.ptp-setup-*
  touch "$stamp"
fi
echo "setup: ready (.venv)" >&2
