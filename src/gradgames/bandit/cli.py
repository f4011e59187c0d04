"""``gradgames bandit ...``: run (one simulation) and study (the step-size comparison)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gradgames.bandit.experiment import RunConfig, simulate, summary
from gradgames.bandit.learner import LearnerConfig
from gradgames.bandit.plots import describe, plot_run, write_csv
from gradgames.bandit.study import StudyConfig, markdown_table, prepare_study_dir, run_study
from gradgames.bandit.testbeds import BanditConfig
from gradgames.cli import subcommands
from gradgames.config import add_arguments, from_namespace, option
from gradgames.errors import UsageError
from gradgames.report import number
from gradgames.runs import ensure_parent_writable


@dataclass
class RunOutputs:
    """What ``gradgames bandit run`` prints and writes."""

    json: bool = option(False, "print one JSON object instead of text")
    plot: Path | None = option(None, "write reward / optimal-action / entropy curves (PNG)",
                               metavar="FILE")
    csv: Path | None = option(None, "write the per-step curves (CSV)", metavar="FILE")


def register(parser: argparse.ArgumentParser) -> None:
    commands = subcommands(parser)
    run = commands.add_parser(
        "run", help="simulate many independent runs of one learner",
        description="Simulate independent runs of a softmax policy-gradient learner on "
        "k-armed bandits, all runs at once, and report per-step curves and per-run outcomes.",
    )
    add_arguments(run, BanditConfig)
    add_arguments(run, LearnerConfig)
    add_arguments(run, RunConfig, skip=("bandit", "learner"))
    add_arguments(run, RunOutputs)
    run.set_defaults(func=run_command)
    study = commands.add_parser(
        "study", help="compare step-size control for both rules (figures + tables)",
        description="The assignment's Part B comparison: constant small and large eta, "
        "RMSprop, Adam, inverse-time and plateau decay, for both rules, on one testbed.",
    )
    add_arguments(study, BanditConfig)
    add_arguments(study, StudyConfig, skip=("bandit",))
    study.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="directory for the figures and tables (must not hold a study)")
    study.add_argument("--json", action="store_true", help="print study.json's content")
    study.set_defaults(func=study_command)


def _writable(path: Path | None) -> None:
    """Checks, before any work, that ``path`` can be created (probing with a temp file)."""
    if path is None:
        return
    ensure_parent_writable(path)
    try:
        with tempfile.NamedTemporaryFile(dir=Path(path).parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another path") from None


def _text(result, s: dict) -> str:
    """The summary in words; a figure the runs could not give (one run has no interval, a
    diverged run no reward) reads n/a."""
    c = {k: number(v) for k, v in s.items()}
    return "\n".join([
        describe(result) + f", {s['steps']} steps",
        f"final reward {c['final_mean_reward']} ± {c['final_mean_reward_ci95']} "
        f"(best arm {c['optimal_value']}, uniform policy {c['random_value']})",
        f"optimal action {c['final_optimal_action']}; entropy {c['final_entropy']}",
        f"converged {c['converged_fraction']} (mean step "
        f"{number(s['mean_convergence_step'], 0)}); "
        f"locked on a suboptimal arm {c['locked_suboptimal_fraction']}",
        f"status {s['status']}; {s['seconds']:.2f} s",
    ])


def run_command(args: argparse.Namespace) -> int:
    config = from_namespace(
        RunConfig, args, bandit=from_namespace(BanditConfig, args),
        learner=from_namespace(LearnerConfig, args),
    )
    outputs = from_namespace(RunOutputs, args)
    _writable(outputs.plot)
    _writable(outputs.csv)
    result = simulate(config)
    s = summary(result)
    if outputs.plot is not None:
        plot_run(result, outputs.plot)
    if outputs.csv is not None:
        write_csv(result, outputs.csv)
    if s["status"] != "ok":
        print(f"gradgames: warning: {s['diverged_fraction']:.1%} of runs diverged (non-finite "
              f"preferences from step {s['first_divergence_step']}): lower --lr",
              file=sys.stderr)
    print(json.dumps(s, indent=2) if outputs.json else _text(result, s))
    return 0


def study_command(args: argparse.Namespace) -> int:
    config = from_namespace(StudyConfig, args, bandit=from_namespace(BanditConfig, args))
    prepare_study_dir(args.out)
    report = run_study(config, args.out)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(markdown_table(report["table"]), end="")
        print(f"wrote {', '.join(report['paths'].values())}")
    return 0
