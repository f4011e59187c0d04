#!/usr/bin/env bash
# Builds the wheel and the sdist, checks the sdist carries the whole test suite, installs the
# wheel (with its dependencies, torch from this machine's disk) into a fresh virtual environment
# and runs every part once from a folder outside the checkout. Run by CI after the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "wheel-smoke: building the wheel and the sdist"
.venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls "$work"/dist/gradgames-*.whl)
sdist=$(ls "$work"/dist/gradgames-*.tar.gz)

echo "wheel-smoke: the sdist carries every tracked test file, the docs and the notebook"
missing=$(comm -23 <(git ls-files tests docs notebooks | sort) \
                   <(tar tzf "$sdist" | sed 's|^[^/]*/||' | sort))
if [ -n "$missing" ]; then echo "missing from the sdist: $missing"; exit 1; fi
unzip -Z1 "$wheel" >"$work/wheel.txt"
if grep -q '^tests/' "$work/wheel.txt"; then echo "the wheel carries tests/"; exit 1; fi
grep -qx 'gradgames/py.typed' "$work/wheel.txt"
grep -qx 'gradgames/gan/assets/fashion_classifier.pt' "$work/wheel.txt"
grep -qx 'gradgames/gan/assets/generator_ema.pt' "$work/wheel.txt"

echo "wheel-smoke: installing the wheel into a fresh virtual environment"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"

echo "wheel-smoke: every part from a folder outside the checkout"
cd "$work"
gg="$work/venv/bin/gradgames"
test "$("$work/venv/bin/python" -c 'import gradgames, sys; print(gradgames.__file__.startswith(sys.prefix))')" = True
"$gg" --version
"$gg" bandit run --runs 20 --steps 50 --json >/dev/null
"$gg" saddle analyze --f '4*x**2 - 4*y**2' --json >/dev/null
"$gg" gan train --subset 128 --epochs 1 --batch-size 32 --eval-epochs '' --no-progress --out run
"$gg" gan sample --checkpoint run/generator.pt --num 16 --out samples.png
"$gg" gan evaluate --checkpoint run/generator.pt --num 200 --json >/dev/null
"$gg" gan sample --pretrained ema --num 16 --out shipped.png  # the shipped weights, offline
"$work/venv/bin/python" - <<'PY'
import gradgames.bandit, gradgames.saddle, gradgames.gan
for part in (gradgames.bandit, gradgames.saddle, gradgames.gan):
    assert part.__all__, part
    missing = [name for name in part.__all__ if not hasattr(part, name)]
    assert not missing, (part.__name__, missing)
print("public API:", {p.__name__: len(p.__all__) for p in (gradgames.bandit, gradgames.saddle, gradgames.gan)})
PY
cd "$root"
echo "wheel-smoke: ok"
