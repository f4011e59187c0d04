"""Process settings for training speed that leave the results unchanged."""

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import resource, sys, torch
    from gradgames.gan.accel import tune_allocator
    from gradgames.gan.models import Discriminator, Generator
    from gradgames.gan.step import train_step
    applied = tune_allocator() if sys.argv[1] == "tuned" else None
    torch.manual_seed(0)
    g, d = Generator(), Discriminator()
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), 1e-4) for m in (g, d))
    real = torch.rand(32, 1, 28, 28) * 2 - 1
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):  # the optimisers' state and the heap settle
        train_step(g, d, opt_g, opt_d, real)
    before = faults()
    train_step(g, d, opt_g, opt_d, real)
    print(applied, faults() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_tuned_allocator_stops_page_faulting_the_steps_activations_in():
    """Under glibc's defaults a training step (batch 32 here) page-faults hundreds of pages
    (blocks unmapped on free are mapped and faulted in again); after tune_allocator() its
    blocks are reused from the heap."""
    runs = {}
    for mode in ("default", "tuned"):
        done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True,
                              text=True, timeout=120, check=True)  # fmt: skip
        applied, per_alloc = done.stdout.split()
        runs[mode] = (applied, float(per_alloc))
    assert runs["tuned"][0] == "True"
    assert runs["default"][1] > 500, runs
    assert runs["tuned"][1] < runs["default"][1] / 10, runs


def test_a_failed_cuda_graph_capture_falls_back_to_the_eager_step_with_one_warning(monkeypatch):
    """The capture's failure is logic, not CUDA: on the CPU the eager path and the capture are
    stand-ins, and every batch must still be trained exactly once, eagerly, after one warning."""
    import torch

    from gradgames.gan.accel import CudaGraphStep

    trained = []
    step = CudaGraphStep(lambda real: trained.append(real.shape[0]) or real.sum(), 4, warmup=2)
    monkeypatch.setattr(step, "_eager", step.step_fn)

    def capture(real):
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    monkeypatch.setattr(step, "_capture", capture)
    message = r"capture failed \(operation not permitted when stream is capturing\); training"
    with pytest.warns(RuntimeWarning, match=message) as caught:
        for size in (4, 4, 4, 4, 3, 4):
            step(torch.ones(size, 1, 28, 28))
    assert len(caught) == 1 and step.failed and step.graph is None
    assert trained == [4, 4, 4, 4, 3, 4]  # every batch trained once, none lost


def test_cuda_graphs_are_opt_in():
    from gradgames.gan.config import TrainConfig

    assert TrainConfig().cuda_graphs is False
