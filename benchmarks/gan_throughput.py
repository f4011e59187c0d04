"""DCGAN training speed against the machine's own limit, with the assignment's loop beside it.

Prints, from one run on this machine:

1. The limit, for fp32 and for bf16 (``--precision``; both by default). The FLOPs of one
   gradgames training step (torch.utils.flop_counter over one D step and one G step at the
   batch size), the matmul peak of the same threads in that precision (a 2048x2048 matmul:
   AMX or AVX-512 BF16 kernels for bf16 where the CPU has them) and the rate of one
   compute-bound convolution alone in that precision, both timed between
   the throughput repeats so that all see the same machine: a step running at the higher of
   the two would train ``peak / FLOPs-per-image`` images/s, the limit. The fraction
   of that limit a loop reaches carries from one machine to another; images/s do not.
2. Throughput, interleaved repeat by repeat at the batch size after a warm-up: the assignment's
   literal loop, gradgames at its defaults (the EMA generator's update included), and
   (``--ablation``) gradgames with one of its levers turned off or on (the EMA update among
   them: its cost), each as images/s, fraction of the limit and seconds per epoch.
3. (``--allocator``) The glibc allocator tuning of ``gradgames.gan.accel.tune_allocator``:
   fresh processes alternately with glibc's defaults and tuned, images/s and page faults a step.
4. (``--startup``) Start-up: seconds from starting ``gradgames gan train`` to the end of its
   first optimiser step (fresh processes, the full data set).

    .venv/bin/python benchmarks/gan_throughput.py --ablation --allocator --startup   # all of it
    .venv/bin/python benchmarks/gan_throughput.py --device cuda                      # GPU
    .venv/bin/python benchmarks/gan_throughput.py --precision bf16                   # one of both

The baseline follows the assignment's procedure literally: torchvision's FashionMNIST with
per-sample ToTensor + Normalize transforms through a shuffling DataLoader, a discriminator
ending in a sigmoid with nn.Dropout, nn.BCELoss, separate discriminator passes for real and fake
images, and torch.optim.Adam with default implementation settings.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision import datasets, transforms

from gradgames.gan import models
from gradgames.gan.accel import tune_allocator
from gradgames.gan.config import TrainConfig
from gradgames.gan.data import FILES, epoch_permutation, find_data_dir
from gradgames.gan.run import Run, open_run
from gradgames.gan.step import build_state, train_step


class BaselineGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(100, 7 * 7 * 256, bias=False)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(self.dense(z).view(-1, 256, 7, 7))


def baseline_discriminator() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(6272, 1), nn.Sigmoid(),
    )  # fmt: skip


class Baseline:
    """The assignment's loop, one step per call, batches from a DataLoader."""

    def __init__(self, root: Path, device: torch.device, batch_size: int):
        to_unit = transforms.Normalize((0.5,), (0.5,))  # [0, 1] -> [-1, 1]
        transform = transforms.Compose([transforms.ToTensor(), to_unit])
        data = datasets.FashionMNIST(str(root), train=True, transform=transform, download=False)
        self.loader = DataLoader(data, batch_size=batch_size, shuffle=True)
        self.batches = iter(self.loader)
        self.device = device
        self.G = BaselineGenerator().to(device)
        self.D = baseline_discriminator().to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.bce = nn.BCELoss()

    def step(self) -> int:
        try:
            images, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            images, _ = next(self.batches)
        real = images.to(self.device)
        b = real.shape[0]
        ones = torch.ones(b, 1, device=self.device)
        zeros = torch.zeros(b, 1, device=self.device)
        fake = self.G(torch.randn(b, 100, device=self.device))
        self.opt_d.zero_grad()
        d_loss = self.bce(self.D(real), ones) + self.bce(self.D(fake.detach()), zeros)
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        g_loss = self.bce(self.D(fake), ones)
        g_loss.backward()
        self.opt_g.step()
        return b


class Project:
    """gradgames' own step and batches, exactly as `gradgames gan train` runs them: the step,
    then the EMA generator's update (``ema=False``: without it, as with ``--ema-decay 0``)."""

    def __init__(self, run: Run, ema: bool = True):
        self.run = run
        self.ema = run.ema if ema else None
        self.step_fn = run.make_step()
        self.order = epoch_permutation(len(run.images), run.config.seed, 0, run.device)
        self.i = 0
        self.stats: list[torch.Tensor] = []

    def step(self) -> int:
        real = self.run.batch(self.order, self.i % self.run.steps_per_epoch)
        self.i += 1
        self.stats.append(self.step_fn(real))
        if self.ema is not None:
            self.ema.update(self.run.state.generator)
        return real.shape[0]


class Variant:
    """gradgames' step on its own networks, with one lever changed, fed gradgames' batches."""

    def __init__(self, run: Run, change: Callable[[nn.Module, nn.Module], None] | None = None):
        self.run = run
        state = build_state(run.config, run.device, channels_last=run.channels_last)
        if change is not None:
            change(state.generator, state.discriminator)
        self.state = state
        self.order = epoch_permutation(len(run.images), run.config.seed, 0, run.device)
        self.i = 0

    def step(self) -> int:
        real = self.run.batch(self.order, self.i % self.run.steps_per_epoch)
        self.i += 1
        s = self.state
        train_step(s.generator, s.discriminator, s.opt_g, s.opt_d, real)
        return real.shape[0]


class RandDropout(models.Dropout):
    """The mask as a 32-bit uniform draw per element (``rand >= p``), the earlier version."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, device=x.device) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))


def rand_masks(_g: nn.Module, d: nn.Module) -> None:
    for i, layer in enumerate(d.net):
        if isinstance(layer, models.Dropout):
            d.net[i] = RandDropout(layer.p)


def out_of_place(g: nn.Module, d: nn.Module) -> None:
    for layer in [*g.modules(), *d.modules()]:
        if isinstance(layer, nn.LeakyReLU):
            layer.inplace = False


def channels_last(g: nn.Module, d: nn.Module) -> None:
    g.to(memory_format=torch.channels_last)
    d.to(memory_format=torch.channels_last)


class ChannelsLast(Variant):
    def step(self) -> int:
        real = self.run.batch(self.order, self.i % self.run.steps_per_epoch)
        self.i += 1
        s = self.state
        real = real.contiguous(memory_format=torch.channels_last)
        train_step(s.generator, s.discriminator, s.opt_g, s.opt_d, real)
        return real.shape[0]


ABLATIONS = {  # name -> (class, change)
    "- counter-based dropout masks (rand >= p)": (Variant, rand_masks),
    "- in-place LeakyReLU": (Variant, out_of_place),
    "+ channels-last (not the CPU default)": (ChannelsLast, channels_last),
}


def timed(side, steps: int, device: torch.device) -> float:
    """Images per second over ``steps`` steps (device work included)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, images = time.perf_counter(), 0
    for _ in range(steps):
        images += side.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def step_flops(run: Run) -> int:
    """FLOPs of one gradgames training step (D step + G step) at the run's batch size."""
    state = build_state(run.config, run.device)
    real = run.batch(epoch_permutation(len(run.images), 0, 0, run.device), 0)
    with FlopCounterMode(display=False) as counter:
        train_step(state.generator, state.discriminator, state.opt_g, state.opt_d, real)
    return counter.get_total_flops()


def gflops(op: Callable[[], object], flops: int, device: torch.device, reps: int = 5) -> float:
    """The rate of ``op`` (``flops`` FLOPs a call) on this process's threads, in GFLOP/s: the
    median of ``reps`` timed calls after one warm-up call."""
    op()
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        op()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return flops / statistics.median(times) / 1e9


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def matmul_gflops(device: torch.device, precision: str = "fp32", n: int = 2048) -> float:
    """The matmul rate of this process's threads in ``precision``, in GFLOP/s."""
    dtype = DTYPES[precision]
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    out = torch.empty(n, n, device=device, dtype=dtype)
    return gflops(lambda: torch.mm(a, b, out=out), 2 * n**3, device)


def conv_gflops(device: torch.device, precision: str = "fp32") -> float:
    """The rate of one compute-bound convolution in ``precision`` (batch 64, 128 -> 256
    channels, 3x3 on 14x14, 0.92 GFLOP) on this process's threads, in GFLOP/s.

    oneDNN's convolution kernels can outrun the BLAS matmul that torch.mm calls (seen on an AMD
    EPYC with AVX-512: MKL's sgemm 190 GFLOP/s, this convolution 235), so the matmul alone can
    understate what the machine does."""
    x = torch.randn(64, 128, 14, 14, device=device, dtype=DTYPES[precision])
    w = torch.randn(256, 128, 3, 3, device=device, dtype=DTYPES[precision])
    flops = 2 * 64 * 256 * 14 * 14 * 128 * 9
    return gflops(lambda: torch.nn.functional.conv2d(x, w, padding=1), flops, device)


def raw_root(tmp: Path) -> Path:
    """torchvision's FashionMNIST layout (root/FashionMNIST/raw, uncompressed) from our files."""
    source, raw = find_data_dir(), tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in (s for pair in FILES.values() for s in pair):
        gz = source / f"{stem}.gz"
        with gzip.open(gz) if gz.exists() else open(source / stem, "rb") as src, open(
            raw / stem, "wb"
        ) as dst:
            shutil.copyfileobj(src, dst)
    return tmp


def machine(device: torch.device) -> str:
    cpu, flags = platform.processor() or platform.machine(), set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    shown = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (f"CPU {cpu} ({' '.join(shown) or 'no AVX2'}), {torch.get_num_threads()} threads"
            f"{gpu}, torch {torch.__version__}")  # fmt: skip


def throughput(args, device: torch.device, precision: str) -> None:
    """One table: the loops' images/s against the limit of ``precision`` (its matmul and
    convolution rates; the FLOPs of a step are the same in both precisions)."""
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        config = TrainConfig(
            out=Path(tmp) / "run", device=args.device, batch_size=args.batch_size,
            precision=precision, channels_last=args.channels_last,
            cuda_graphs=not args.no_cuda_graphs, progress=False,
        )  # fmt: skip
        run = stack.enter_context(open_run(config))
        sides = {"assignment's loop (literal, fp32)": Baseline(raw_root(Path(tmp)), device,
                                                        args.batch_size),
                 "gradgames (defaults)": Project(run)}  # fmt: skip
        if args.ablation:
            sides["- EMA generator update (--ema-decay 0)"] = Project(run, ema=False)
        if args.ablation and precision == "fp32":
            sides.update({name: cls(run, change) for name, (cls, change) in ABLATIONS.items()})
        flops = step_flops(run)
        for side in sides.values():
            timed(side, args.warmup, device)
        rates: dict[str, list[float]] = {name: [] for name in sides}
        peaks: list[float] = []
        convs: list[float] = []
        for _ in range(args.repeats):
            peaks.append(matmul_gflops(device, precision))
            convs.append(conv_gflops(device, precision))
            for name, side in sides.items():
                rates[name].append(timed(side, args.steps, device))
    peak, conv = statistics.median(peaks), statistics.median(convs)
    per_image = flops / args.batch_size
    limit = max(peak, conv) * 1e9 / per_image
    print(f"\nprecision {run.precision}, channels_last {run.channels_last}, batch "
          f"{args.batch_size}, {args.repeats} repeats x {args.steps} steps, interleaved\n")
    print(f"one training step: {flops / 1e9:.1f} GFLOP ({per_image / 1e9:.3f} an image); "
          f"{precision} matmul peak {peak:.0f} GFLOP/s ({', '.join(f'{p:.0f}' for p in peaks)}: "
          f"{peak * 1e9 / per_image:.0f} images/s), one 3x3 convolution alone {conv:.0f} GFLOP/s "
          f"({', '.join(f'{c:.0f}' for c in convs)}: {conv * 1e9 / per_image:.0f} images/s); "
          f"limit: the higher, {limit:.0f} images/s\n")  # fmt: skip
    print("| loop | median images/s | fraction of the limit | s per epoch (60k) | repeats |")
    print("|---|---|---|---|---|")
    medians = {}
    for name, values in rates.items():
        medians[name] = statistics.median(values)
        spread = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {medians[name]:.0f} | {medians[name] / limit:.0%} | "
              f"{60000 / medians[name]:.0f} | {spread} |")  # fmt: skip
    base, ours = list(medians.values())[:2]
    print(f"\nratio gradgames / assignment's loop: {ours / base:.2f}x")


WORKER = """
import resource, statistics, sys, time, torch
from gradgames.gan.accel import tune_allocator
from gradgames.gan.models import Discriminator, Generator
from gradgames.gan.step import train_step
if sys.argv[1] == "tuned":
    tune_allocator()
torch.manual_seed(0)
g, d = Generator(), Discriminator()
opt_g = torch.optim.Adam(g.parameters(), 1e-4, betas=(0.5, 0.999), fused=True)
opt_d = torch.optim.Adam(d.parameters(), 1e-4, betas=(0.5, 0.999), fused=True)
real = torch.rand(int(sys.argv[2]), 1, 28, 28) * 2 - 1
for _ in range(5):
    train_step(g, d, opt_g, opt_d, real)
faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
steps = int(sys.argv[3])
for _ in range(steps):
    train_step(g, d, opt_g, opt_d, real)
seconds = time.perf_counter() - start
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(steps * real.shape[0] / seconds, faults / steps)
"""


def allocator(args) -> None:
    rows: dict[str, list[tuple[float, float]]] = {"glibc defaults": [], "tuned": []}
    for _ in range(args.repeats):
        for name, mode in (("glibc defaults", "default"), ("tuned", "tuned")):
            done = subprocess.run(
                [sys.executable, "-c", WORKER, mode, str(args.batch_size), str(args.steps)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rate, faults = map(float, done.stdout.split())
            rows[name].append((rate, faults))
    print(f"\nallocator: fresh processes, alternately, {args.repeats} each, {args.steps} steps "
          "after 5 warm-up steps, synthetic batch\n")  # fmt: skip
    print("| allocator | median images/s | page faults a step | repeats (images/s) |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        rate = statistics.median(v[0] for v in values)
        faults = statistics.median(v[1] for v in values)
        spread = ", ".join(f"{v[0]:.0f}" for v in values)
        print(f"| {name} | {rate:.0f} | {faults:.0f} | {spread} |")
    ratio = statistics.median(v[0] for v in rows["tuned"]) / statistics.median(
        v[0] for v in rows["glibc defaults"])  # fmt: skip
    print(f"\nratio tuned / defaults: {ratio:.2f}x")


PROBE = """
import os, sys, time
import gradgames.gan.step as step
original = step.train_step
def first(*args, **kwargs):
    out = original(*args, **kwargs)
    print(f"FIRST_STEP {time.time():.6f}", flush=True)
    os._exit(0)
step.train_step = first  # before the loop's modules take the name
from gradgames.cli import main
main(sys.argv[1:])
"""


def startup(args) -> None:
    seconds = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.time()
            done = subprocess.run(
                [sys.executable, "-c", PROBE, "gan", "train", "--out", f"{tmp}/run",
                 "--no-progress"], capture_output=True, text=True,
            )  # fmt: skip
            line = [x for x in done.stdout.splitlines() if x.startswith("FIRST_STEP")]
            if not line:
                raise SystemExit(f"gan train did not reach a step: {done.stderr[-500:]}")
            seconds.append(float(line[0].split()[1]) - start)
    spread = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"\nstart-up: `gradgames gan train` (60,000 images) from process start to the end of "
          f"its first optimiser step: median {statistics.median(seconds):.2f} s ({spread})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat and side")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--precision", default="both", choices=["fp32", "bf16", "both"],
                        help="the step's precision, each against its own limit (default both)")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--no-cuda-graphs", action="store_true")
    parser.add_argument("--ablation", action="store_true", help="each lever off (or on) alone")
    parser.add_argument("--allocator", action="store_true", help="glibc defaults vs tuned")
    parser.add_argument("--startup", action="store_true", help="time to the first step")
    args = parser.parse_args()
    device = torch.device(args.device)
    tune_allocator()  # as `gradgames gan train` does
    print(f"machine: {machine(device)}; device {device}; {time.strftime('%Y-%m-%d')}")
    for precision in ("fp32", "bf16") if args.precision == "both" else (args.precision,):
        throughput(args, device, precision)
    if args.allocator:
        allocator(args)
    if args.startup:
        startup(args)


if __name__ == "__main__":
    main()
