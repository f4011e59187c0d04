"""DCGAN training throughput: the assignment's literal loop against gradgames' training step.

Both run in this one process, interleaved repeat by repeat, at batch 64 after a warm-up, so
that the machine's noise hits both alike. Prints each side's median images/s, the ratio, the
implied seconds per epoch, and the machine.

    .venv/bin/python benchmarks/gan_throughput.py                  # CPU, the project's defaults
    .venv/bin/python benchmarks/gan_throughput.py --device cuda    # GPU
    .venv/bin/python benchmarks/gan_throughput.py --precision fp32 --channels-last   # variants

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
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from gradgames.gan.config import TrainConfig
from gradgames.gan.data import FILES, epoch_permutation, find_data_dir
from gradgames.gan.run import Run, open_run


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
    """gradgames' own step and batches, exactly as `gradgames gan train` runs them."""

    def __init__(self, run: Run):
        self.run = run
        self.step_fn = run.make_step()
        self.order = epoch_permutation(len(run.images), run.config.seed, 0, run.device)
        self.i = 0
        self.stats: list[torch.Tensor] = []

    def step(self) -> int:
        real = self.run.batch(self.order, self.i % self.run.steps_per_epoch)
        self.i += 1
        self.stats.append(self.step_fn(real))
        return real.shape[0]


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
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return f"CPU {cpu}, {torch.get_num_threads()} threads{gpu}, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per repeat and side")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--no-cuda-graphs", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        config = TrainConfig(
            out=Path(tmp) / "run", device=args.device, batch_size=args.batch_size,
            precision=args.precision, channels_last=args.channels_last,
            cuda_graphs=not args.no_cuda_graphs, progress=False,
        )  # fmt: skip
        baseline = Baseline(raw_root(Path(tmp)), device, args.batch_size)
        project = Project(stack.enter_context(open_run(config)))
        sides = {"baseline (assignment, literal)": baseline, "gradgames (defaults)": project}
        for side in sides.values():
            timed(side, args.warmup, device)
        rates: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, side in sides.items():
                rates[name].append(timed(side, args.steps, device))
    print(f"machine: {machine(device)}; device {device}")
    run = project.run
    graphs = device.type == "cuda" and config.cuda_graphs
    print(f"gradgames: precision {run.precision}, channels_last {run.channels_last}, "
          f"cuda_graphs {graphs}")  # fmt: skip
    print(f"batch {args.batch_size}, {args.repeats} repeats x {args.steps} steps, interleaved\n")
    print(f"| {'side':<32} | median images/s | s per epoch (60k) | repeats |")
    print(f"|{'-' * 34}|-----------------|-------------------|---------|")
    medians = {}
    for name, values in rates.items():
        medians[name] = statistics.median(values)
        spread = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {name:<32} | {medians[name]:15.0f} | {60000 / medians[name]:17.1f} | {spread} |")
    base, ours = medians.values()
    print(f"\nratio gradgames / baseline: {ours / base:.2f}x")


if __name__ == "__main__":
    main()
