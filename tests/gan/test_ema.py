"""The EMA generator (issue 15, item 1): the average itself, its place in a run, its files."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from PIL import Image
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gradgames.errors import ConfigError
from gradgames.gan import EmaGenerator, TrainConfig, train
from gradgames.gan.checkpoint import load_checkpoint, load_generator
from gradgames.gan.ema import recalibrated
from gradgames.gan.models import Generator, ModelConfig
from tests.conftest import assert_one_line_error

# 4 steps per epoch, no evaluation, no TensorBoard
SMALL = dict(subset=256, batch_size=64, progress=False, log_every=2, eval_epochs=(),
             tensorboard=False)  # fmt: skip


def small_config(out, **kw):
    return TrainConfig(out=out, **{**SMALL, **kw})


def perturb(generator: nn.Module, seed: int) -> None:
    """A stand-in for an optimiser step: new parameters and new batch-norm statistics."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in generator.parameters():
            p.add_(torch.randn_like(p))
        generator.train()(torch.randn(8, generator.config.noise_dim))  # updates running stats


def test_the_average_follows_its_closed_form_and_copies_the_buffers():
    generator = Generator(ModelConfig(dense_bn=True))
    ema = EmaGenerator(generator, decay=0.5)
    expected = {k: v.clone() for k, v in generator.named_parameters()}  # theta_ema_0 = theta_0
    for t in range(1, 5):
        perturb(generator, t)
        ema.update(generator)
        live = {k: v.clone() for k, v in generator.named_parameters()}
        beta = min(0.5, (1 + t) / (10 + t))  # the warm-up: 2/11, 3/12, 4/13, then 0.5
        expected = {k: beta * expected[k] + (1 - beta) * live[k] for k in live}
    averaged = dict(ema.module.named_parameters())
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name], value, rtol=1e-6, atol=1e-6)
        assert not torch.equal(averaged[name], dict(generator.named_parameters())[name])
    for name, buffer in generator.named_buffers():  # copied from the live generator
        assert torch.equal(dict(ema.module.named_buffers())[name], buffer), name
    assert ema.updates == 4 and ema.decay == 0.5
    assert isinstance(ema.module, Generator)


def test_the_warm_up_follows_the_new_weights_first_and_the_decay_later():
    generator = Generator()
    start = {k: v.clone() for k, v in generator.named_parameters()}
    ema = EmaGenerator(generator, decay=0.99)
    perturb(generator, 1)
    ema.update(generator)
    for name, value in generator.named_parameters():  # mostly the new weights: 9/11 of them
        expected = 2 / 11 * start[name] + 9 / 11 * value
        torch.testing.assert_close(dict(ema.module.named_parameters())[name], expected)
    assert ema.current_decay() == 2 / 11
    ema.updates = 889
    assert ema.current_decay() == pytest.approx(890 / 899)
    ema.updates = 10_000
    assert ema.current_decay() == 0.99


def test_the_average_equals_torch_s_averaged_model_bit_for_bit():
    """The reference: AveragedModel with the warm-up as its multi_avg_fn, started from the
    initial weights (one average already taken), buffers copied (not averaged)."""

    def warm_up(averaged, current, num_averaged):  # num_averaged = t at the t-th update
        t = int(num_averaged)
        torch._foreach_lerp_(averaged, current, 1.0 - min(0.95, (1 + t) / (10 + t)))

    generator = Generator(ModelConfig(dense_bn=True))
    ema = EmaGenerator(generator, decay=0.95)
    reference = AveragedModel(generator, multi_avg_fn=warm_up, use_buffers=False)
    reference.n_averaged.fill_(1)  # theta_ema_0 = theta_0: the first update averages
    for t in range(1, 6):
        perturb(generator, t)
        ema.update(generator)
        reference.update_parameters(generator)
    assert ema.updates == int(reference.n_averaged) - 1 == 5
    for name, value in reference.module.state_dict().items():
        assert torch.equal(ema.module.state_dict()[name], value), name


def test_the_average_unwraps_a_ddp_style_wrapper_and_restores_from_its_state():
    generator = Generator()
    wrapper = nn.Module()
    wrapper.module = generator  # what DistributedDataParallel looks like to unwrap()
    ema = EmaGenerator(wrapper, decay=0.5)
    perturb(generator, 1)
    ema.update(wrapper)
    perturb(generator, 2)
    ema.update(wrapper)
    again = EmaGenerator(Generator(), decay=0.5)
    again.load_state_dict(ema.state_dict())
    assert again.updates == 2
    for (name, a), b in zip(ema.module.state_dict().items(), again.module.state_dict().values(),
                            strict=True):  # fmt: skip
        assert torch.equal(a, b), name
    perturb(generator, 3)
    ema.update(wrapper)
    again.update(generator)  # the third update, with the third warm-up decay, after a restore
    for name, value in ema.module.state_dict().items():
        assert torch.equal(value, again.module.state_dict()[name]), name


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1, float("nan")])
def test_a_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ConfigError, match="decay must lie in"):
        EmaGenerator(Generator(), decay)


def test_the_ema_leaves_training_alone_and_is_saved_beside_the_generator(tmp_path):
    plain = train(small_config(tmp_path / "plain", epochs=2, ema_decay=0.0))
    averaged = train(small_config(tmp_path / "ema", epochs=2, ema_decay=0.9))
    assert plain.ema_decay is None and averaged.ema_decay == 0.9
    assert plain.ema_updates is None and averaged.ema_updates == 8
    assert json.loads((tmp_path / "ema" / "summary.json").read_text())["ema_updates"] == 8
    raw = [load_generator(tmp_path / r / "generator.pt").state_dict() for r in ("plain", "ema")]
    for key, value in raw[0].items():
        assert torch.equal(value, raw[1][key]), key  # the same trained generator
    assert plain.final_g_loss_ema == averaged.final_g_loss_ema
    saved = torch.load(tmp_path / "ema" / "generator_ema.pt", weights_only=True)
    assert saved["format"] == "gradgames-gan-weights" and saved["network"] == "generator"
    assert saved["ema"] == {"decay": 0.9, "updates": 8}
    ema = Generator(ModelConfig(**saved["config"]))  # the README's three lines
    ema.load_state_dict(saved["state_dict"])
    assert not torch.equal(ema.state_dict()["net.0.weight"], raw[1]["net.0.weight"])
    assert torch.equal(ema.state_dict()["net.1.running_mean"], raw[1]["net.1.running_mean"])
    checkpoint = load_checkpoint(tmp_path / "ema" / "checkpoints" / "last.pt")
    assert checkpoint["ema_updates"] == 8
    assert torch.equal(
        checkpoint["generator_ema"]["net.0.weight"], saved["state_dict"]["net.0.weight"]
    )
    assert Image.open(tmp_path / "ema" / "samples" / "epoch_002_ema.png").size == (242, 242)
    assert (tmp_path / "ema" / "samples" / "final_ema.png").is_file()
    off = tmp_path / "plain"
    assert not (off / "generator_ema.pt").exists()
    assert not list((off / "samples").glob("*_ema.png"))
    assert "generator_ema" not in load_checkpoint(off / "checkpoints" / "last.pt")


def test_resume_gives_the_same_ema_as_one_go(tmp_path):
    train(small_config(tmp_path / "one", max_steps=7, ema_decay=0.8))
    train(small_config(tmp_path / "two", max_steps=3, ema_decay=0.8))  # stops mid-epoch
    resumed = train(small_config(tmp_path / "two", max_steps=7, resume=True))
    assert resumed.ema_decay == 0.8  # the run's setting
    one, two = (load_checkpoint(tmp_path / r / "checkpoints" / "last.pt") for r in ("one", "two"))
    assert one["ema_updates"] == two["ema_updates"] == 7
    for key, value in one["generator_ema"].items():
        assert torch.equal(value, two["generator_ema"][key]), key
    files = [
        torch.load(tmp_path / r / "generator_ema.pt", weights_only=True) for r in ("one", "two")
    ]
    for key, value in files[0]["state_dict"].items():
        assert torch.equal(value, files[1]["state_dict"][key]), key


def test_a_checkpoint_without_an_ema_resumes_with_one_started_there(tmp_path):
    out = tmp_path / "run"
    train(small_config(out, max_steps=3, ema_decay=0.8))
    path = out / "checkpoints" / "last.pt"
    checkpoint = load_checkpoint(path)
    del checkpoint["generator_ema"], checkpoint["ema_updates"]  # as an earlier version wrote
    torch.save(checkpoint, path)
    train(small_config(out, max_steps=5, resume=True))
    assert load_checkpoint(path)["ema_updates"] == 2  # the steps since the resume


def test_the_evaluation_scores_both_generators_on_the_same_noise(tmp_path):
    out = tmp_path / "run"
    train(small_config(out, epochs=2, ema_decay=0.9, eval_epochs=(1, 2), eval_samples=64))
    entries = json.loads((out / "evaluations.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2]
    for entry in entries:
        assert entry["num_samples"] == 64
        assert set(entry["ema"]) == set(entry["generated"]) == set(entry["floor"])
        assert entry["ema"]["fid"] != entry["generated"]["fid"]


@pytest.mark.parametrize("value", ["1", "-0.5", "nan"])
def test_a_bad_ema_decay_is_one_line_exit_2(cli, tmp_path, value):
    code, _, err = cli("gan", "train", "--ema-decay", value, "--out", tmp_path / "run")
    assert_one_line_error(code, err, "--ema-decay")
    assert not (tmp_path / "run").exists()


def test_sample_and_evaluate_take_the_ema_file(cli, tmp_path):
    out = tmp_path / "run"
    train(small_config(out, max_steps=3, ema_decay=0.5))
    grids = {}
    for name in ("generator.pt", "generator_ema.pt"):
        png = tmp_path / f"{name}.png"
        code, _, err = cli("gan", "sample", "--checkpoint", out / name, "--out", png, "--num", "16")
        assert code == 0 and err == "", err
        grids[name] = png.read_bytes()
    assert grids["generator.pt"] != grids["generator_ema.pt"]
    code, stdout, err = cli("gan", "evaluate", "--checkpoint", out / "generator_ema.pt", "--num",
                            "40", "--json")  # fmt: skip
    assert code == 0 and err == "", err
    assert json.loads(stdout)["checkpoint"].endswith("generator_ema.pt")


def test_the_averaged_copy_is_independent_of_the_generator():
    generator = Generator()
    ema = EmaGenerator(generator, 0.9)
    before = copy.deepcopy(ema.module.state_dict())
    perturb(generator, 1)  # no update: the EMA does not move with the generator
    for key, value in ema.module.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize(
    "spoil,fragment",
    [("nan", "last.pt holds non-finite weights (NaN or infinity in 'net.0.weight')"),
     ("shape", "its 'generator_ema.net.0.weight' entry is missing or malformed"),
     ("type", "is damaged: its 'generator_ema' entry is missing or malformed")],
)  # fmt: skip
def test_a_damaged_ema_in_the_checkpoint_is_refused_on_resume(cli, tmp_path, spoil, fragment):
    out = tmp_path / "run"
    train(small_config(out, max_steps=1, ema_decay=0.5))
    path = out / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    if spoil == "nan":
        state["generator_ema"]["net.0.weight"][0] = float("nan")
    elif spoil == "shape":
        state["generator_ema"]["net.0.weight"] = torch.zeros(3)
    else:
        state["generator_ema"] = "weights"
    torch.save(state, path)
    code, _, err = cli("gan", "train", "--out", out, "--resume", "--max-steps", "2")
    assert_one_line_error(code, err, fragment)


def test_compared_averages_equal_their_own_emas_and_leave_the_main_one_alone():
    generator, decays = Generator(), (0.5, 0.8, 0.95)
    together = EmaGenerator(generator, 0.8, compare=(0.5, 0.95))
    alone = {d: EmaGenerator(generator, d) for d in decays}
    for seed in range(12):  # past the warm-up of 0.5 and 0.8
        perturb(generator, seed)
        together.update(generator)
        for ema in alone.values():
            ema.update(generator)
    averages = {0.8: together.module, **together.compared}
    for decay in decays:
        for key, value in alone[decay].module.state_dict().items():
            assert torch.equal(averages[decay].state_dict()[key], value), (decay, key)
    assert not torch.equal(averages[0.5].net[0].weight, averages[0.95].net[0].weight)
    restored = EmaGenerator(Generator(), 0.8, compare=(0.5, 0.95))
    restored.load_state_dict(together.state_dict())
    assert restored.updates == 12
    assert torch.equal(restored.compared[0.95].net[0].weight, averages[0.95].net[0].weight)


def test_recalibration_averages_the_batch_statistics_on_its_own_noise():
    generator = Generator()
    perturb(generator, 3)
    before = copy.deepcopy(generator.state_dict())
    rng = torch.get_rng_state()
    fresh = recalibrated(generator, seed=5, samples=300, batch=100)
    assert torch.equal(torch.get_rng_state(), rng)  # training's stream untouched
    for key, value in generator.state_dict().items():  # the generator itself untouched
        assert torch.equal(value, before[key]), key
    assert not fresh.training
    # the first batch norm's statistics: the mean over three batches of the batch statistics
    stream = torch.Generator().manual_seed(5)
    noise = [torch.randn(100, generator.config.noise_dim, generator=stream) for _ in range(3)]
    norm = next(m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    index = list(generator.modules()).index(norm)
    captured = []
    hook = norm.register_forward_hook(lambda m, inputs, out: captured.append(inputs[0]))
    with torch.no_grad():
        for z in noise:
            generator.train()(z)
    hook.remove()
    dims = [0] + list(range(2, captured[0].dim()))
    means = torch.stack([x.mean(dims) for x in captured]).mean(0)
    variances = torch.stack([x.var(dims, unbiased=True) for x in captured]).mean(0)
    mine = list(fresh.modules())[index]
    torch.testing.assert_close(mine.running_mean, means, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mine.running_var, variances, rtol=1e-5, atol=1e-6)


def test_a_run_scores_every_average_with_and_without_recalibration(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    settings = dict(ema_decay=0.9, ema_compare=(0.2,), eval_epochs=(1,), eval_samples=64)
    train(small_config(one, epochs=1, **settings))
    train(small_config(two, max_steps=2, **settings))  # stops mid-epoch, resumes
    train(small_config(two, epochs=1, resume=True))
    entries = [json.loads((r / "evaluations.json").read_text()) for r in (one, two)]
    assert entries[0] == [{**entries[1][0], "seconds": entries[0][0]["seconds"]}]
    averages = entries[0][0]["averages"]
    assert sorted(averages) == ["0.2", "0.2 recalibrated", "0.9 recalibrated"]
    assert averages["0.2"]["fid"] != entries[0][0]["ema"]["fid"]
    saved = load_checkpoint(two / "checkpoints" / "last.pt")["ema_compared"]
    assert list(saved) == ["0.2"]


@pytest.mark.parametrize(
    "args,fragment",
    [(["--ema-compare", "0.99"], "--ema-compare must list distinct decays other than"),
     (["--ema-compare", "0.9,1"], "--ema-compare"),
     (["--ema-compare", "0.9", "--ema-decay", "0"], "--ema-compare compares decays"),
     (["--ema-compare", "0.9", "--network", "dirac"], "--ema-compare needs an EMA generator")],
)  # fmt: skip
def test_a_bad_ema_compare_is_one_line_exit_2(cli, tmp_path, args, fragment):
    code, _, err = cli("gan", "train", *args, "--out", tmp_path / "run")
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_must_carry_the_compared_averages_its_settings_name(cli, tmp_path):
    out = tmp_path / "run"
    train(small_config(out, max_steps=1, ema_compare=(0.5,)))
    path = out / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    del state["ema_compared"]
    torch.save(state, path)
    code, _, err = cli("gan", "train", "--out", out, "--resume")
    assert_one_line_error(code, err, "'ema_compared' entry is missing or malformed")
