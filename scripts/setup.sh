#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: a virtual environment in .venv with torch, gradgames and
# its test tools, and the real Fashion-MNIST files. Safe to run before every command; a second
# run only checks and prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.gradgames-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing torch 2.14.1, torchvision 0.29.1 and gradgames[test] into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,tensorboard]'
  touch "$stamp"
fi

have_data() { .venv/bin/python -c 'from gradgames.gan.data import find_data_dir; find_data_dir()' 2>/dev/null; }
have_chromium() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }
can_apt() { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; }

# Debian packages: the real data set, and Chromium for the test that opens report.html.
packages=()
have_data || packages+=(dataset-fashion-mnist)
have_chromium || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ] && can_apt; then
  echo "setup: installing Debian packages: ${packages[*]} (apt-get)"
  apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null || true
fi
if ! have_data; then
  echo "setup: Fashion-MNIST is not installed: downloading it into the user cache (torchvision)"
  .venv/bin/python -c 'from gradgames.gan.data import find_data_dir; print(find_data_dir(download=True))'
fi
have_chromium || echo "setup: warning: no Chromium; the report's browser test will fail (install chromium)"
