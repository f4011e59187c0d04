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
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi

have_data() { .venv/bin/python -c 'from gradgames.gan.data import find_data_dir; find_data_dir()' 2>/dev/null; }
if ! have_data; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
     && { echo "setup: installing Debian's dataset-fashion-mnist (apt-get)"; \
          apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; } && have_data; then
    :
  else
    echo "setup: no apt-get as root here: downloading Fashion-MNIST into the user cache"
    .venv/bin/python -c 'from gradgames.gan.data import find_data_dir; print(find_data_dir(download=True))'
  fi
fi
