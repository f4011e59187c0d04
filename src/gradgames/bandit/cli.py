"""``gradgames bandit ...``: run (one simulation) and study (the step-size comparison, or the
textbook's Figures 2.5 and 2.6).

Only core modules and the torch-free :mod:`gradgames.bandit.config` are imported here at
module level: ``gradgames bandit --help`` needs neither torch nor matplotlib. The library is
imported inside the command functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gradgames.bandit.config import BanditConfig, LearnerConfig, RunConfig, RunOutputs, StudyConfig
from gradgames.config import add_arguments, from_namespace, parse_path, subcommands
from gradgames.files import to_json
from gradgames.report import number
from gradgames.rundir import check_output_file


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
        "study", help="compare step-size control for both rules, or reproduce Sutton & "
        "Barto's Figures 2.5 and 2.6 (figures + tables)",
        description="--preset step-size (default): the assignment's Part B comparison: "
        "constant small and large eta, RMSprop, Adam, inverse-time and plateau decay, for both "
        "rules, on one testbed. --preset sutton-barto: Sutton & Barto's Figure 2.5 (alpha 0.1 "
        "and 0.4, with and without baseline, q* mean 4) and the gradient-bandit curve of "
        "Figure 2.6 (average reward against alpha = 1/32 .. 4), each value beside the book's "
        "procedure simulated independently.",
    )
    add_arguments(study, BanditConfig)
    add_arguments(study, StudyConfig, skip=("bandit",))
    study.add_argument("--out", type=parse_path, required=True, metavar="DIR",
                       help="directory for the figures and tables (new or empty)")
    study.add_argument("--json", action="store_true", help="print study.json's content")
    study.set_defaults(func=study_command)


def _text(s) -> str:
    """A :class:`~gradgames.bandit.results.RunSummary` in words; a figure the runs could not
    give (one run has no interval, a diverged run no reward) reads n/a."""
    return "\n".join([
        f"final reward {number(s.final_mean_reward)} ± {number(s.final_mean_reward_ci95)} "
        f"(best arm {number(s.optimal_value)}, uniform policy {number(s.random_value)})",
        f"average reward over the steps {number(s.average_reward)} ± "
        f"{number(s.average_reward_ci95)}",
        f"optimal action {number(s.final_optimal_action)}; entropy {number(s.final_entropy)}",
        f"converged {number(s.converged_fraction)} (mean step "
        f"{number(s.mean_convergence_step, 0)}); "
        f"locked on a suboptimal arm {number(s.locked_suboptimal_fraction)}",
        f"status {s.status}; {number(s.seconds, 2)} s",
    ])


def run_command(args: argparse.Namespace) -> int:
    config = from_namespace(
        RunConfig, args, bandit=from_namespace(BanditConfig, args),
        learner=from_namespace(LearnerConfig, args),
    )
    outputs = from_namespace(RunOutputs, args)
    if outputs.plot is not None:
        check_output_file(outputs.plot, ".png")
    if outputs.csv is not None:
        check_output_file(outputs.csv, ".csv")
    from gradgames.bandit.experiment import simulate, summary
    from gradgames.bandit.plots import describe, plot_run, write_csv

    result = simulate(config)
    s = summary(result)
    if outputs.plot is not None:
        plot_run(result, outputs.plot)
    if outputs.csv is not None:
        write_csv(result, outputs.csv)
    if s.status != "ok":
        print(f"gradgames: warning: {number(100 * s.diverged_fraction, 1)}% of runs diverged "
              f"(non-finite preferences from step {s.first_divergence_step}): lower --lr",
              file=sys.stderr)  # fmt: skip
    if outputs.json:
        print(to_json(s.to_dict()))
    else:
        print(f"{describe(result)}, {s.steps} steps\n{_text(s)}")
    return 0


def study_command(args: argparse.Namespace) -> int:
    config = from_namespace(StudyConfig, args, bandit=from_namespace(BanditConfig, args))
    from gradgames.bandit.study import markdown_table, prepare_study_dir, run_study

    prepare_study_dir(args.out)
    study = run_study(config, Path(args.out))
    if args.json:
        print(to_json(study.to_dict()))
    else:
        print(markdown_table(study.table), end="")
        if study.book:
            from gradgames.bandit.sutton_barto import book_table

            print(book_table(list(study.book)), end="")
        print(f"wrote {', '.join(study.paths.values())}")
    return 0
