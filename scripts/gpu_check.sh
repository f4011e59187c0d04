#!/usr/bin/env bash
# The prepared GPU check of issues 6, 8 and 9: one command on a lent GPU machine, under ten
# minutes, that measures what the CPU machines cannot:
#   1. benchmarks/gan_throughput.py on the GPU, fp32 and bf16 (baseline, gradgames, ratio);
#   2. the whole reproduction on the GPU (`gradgames reproduce --device cuda`), timed;
#   3. the same DCGAN run in bf16 autocast (same seed, same steps, evaluated at the same epochs),
#      for the fp32-vs-bf16 FID comparison that decides --precision's default.
# On the device machine (its image has torch, torchvision, torchmetrics, matplotlib, tqdm),
# carrying the data set copied into the ignored folder .data:
#   OUT=$OUT PYTHONPATH=src GRADGAMES_DATA=.data bash scripts/gpu_check.sh
# It writes at most 8 files into $OUT: machine.txt, throughput.txt, reproduce.tar.gz (the report,
# figures and JSON, no checkpoints), bf16-evaluations.json, bf16-summary.json and log.txt.
# A step that fails or runs out of its time is logged and the next one still runs.
# DEVICE=cpu QUICK=1 PYTHON=.venv/bin/python dry-runs every step at a tiny size on a CPU.
set -uo pipefail
out=${OUT:?set OUT to the folder the results go to}
device=${DEVICE:-cuda}
py=${PYTHON:-python3}
work=$(mktemp -d)
export PYTHONUNBUFFERED=1
exec > >(tee -a "$out/log.txt") 2>&1

step() { echo "== $(date +%T) $*"; }
timed() {  # timed SECONDS LABEL COMMAND...: runs it under a time limit and says how it ended
    local limit=$1 label=$2 start=$SECONDS status
    shift 2
    timeout "$limit" "$@"
    status=$?
    echo "-- $label: exit $status after $((SECONDS - start)) s"
}

if [ -n "${QUICK:-}" ]; then
    bench=(--steps 2 --repeats 1 --warmup 1)
    reproduce=(--quick)
    bf16=(--subset 256 --epochs 1 --eval-samples 200)
else
    bench=(--steps 100 --repeats 5)
    reproduce=()
    bf16=()  # the defaults: 50 epochs, evaluated at 10, 30 and 50 like the reproduction
fi

step machine
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
    "$py" -c "import platform, torch; print('python', platform.python_version(), 'torch',
torch.__version__, 'gpu', torch.cuda.get_device_name() if torch.cuda.is_available() else None)"
    echo "cpus $(nproc)"
} | tee "$out/machine.txt"

step "throughput, fp32 (the default)"
timed 120 "throughput fp32" "$py" benchmarks/gan_throughput.py --device "$device" "${bench[@]}" \
    | tee "$out/throughput.txt"
step "throughput, bf16 autocast"
timed 60 "throughput bf16" "$py" benchmarks/gan_throughput.py --device "$device" \
    --precision bf16 "${bench[@]}" | tee -a "$out/throughput.txt"

step "the whole reproduction"
timed 270 "reproduce" "$py" -m gradgames reproduce --device "$device" --out "$work/reproduce" \
    --no-progress "${reproduce[@]}"
tar -czf "$out/reproduce.tar.gz" -C "$work" --exclude='*.pt' reproduce

step "the DCGAN again in bf16 with CUDA graphs (opt-in elsewhere): same seed, steps and evaluation epochs"
timed 120 "bf16 training" "$py" -m gradgames gan train --device "$device" --precision bf16 --cuda-graphs \
    --out "$work/bf16" --no-progress "${bf16[@]}"
cp "$work/bf16/evaluations.json" "$out/bf16-evaluations.json"
cp "$work/bf16/summary.json" "$out/bf16-summary.json"
step done
