"""The ``gradgames`` command: ``gradgames <part> <command> [flags]``.

Each part registers its own subcommands from ``gradgames.<part>.cli.register``; this module only
builds the parser, runs the chosen command and turns errors into one line and an exit status.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

from gradgames import __version__
from gradgames.config import ArgumentParser, subcommands
from gradgames.errors import ConfigError, GradgamesError

__all__ = ["ArgumentParser", "build_parser", "main", "subcommands"]

PARTS = {
    # one line per part; each module gradgames.<part>.cli defines register(parser)
    "bandit": "Part 1: softmax policy gradient on k-armed bandits (run, study)",
    "saddle": "Part 2: minimax dynamics and step-size stability (analyze, run, compare, map)",
    "gan": "Part 3: the DCGAN on Fashion-MNIST (train, sample, evaluate, summary)",
}


EXPRESSION_FLAGS = ("--f",)  # flags whose value may start with '-'
MODULES = {"reproduce": "gradgames.reproduce", **{name: f"gradgames.{name}.cli" for name in PARTS}}
HELP = {
    "reproduce": "run all three parts and write report.md and report.html (the main job)",
    **PARTS,
}


def build_parser(only: str | None = None) -> ArgumentParser:
    """The whole command line, or with ``only`` just that part's commands filled in.

    Each part's module registers its flags; it is imported only when its part is asked for
    (``only``) or the whole tree is built (``only=None``), so ``gradgames --help`` and
    ``gradgames --version`` import neither torch nor matplotlib.
    """
    parser = ArgumentParser(
        prog="gradgames",
        description="Gradient methods in games: bandits, saddle points and a DCGAN.",
    )
    parser.add_argument("--version", action="version", version=f"gradgames {__version__}")
    parts = parser.add_subparsers(dest="part", metavar="PART", parser_class=ArgumentParser)
    parts.required = True
    for name, help_text in HELP.items():
        sub = parts.add_parser(name, help=help_text, description=help_text)
        if only in (None, name):
            importlib.import_module(MODULES[name]).register(sub)
    return parser


def requested_part(argv: list[str]) -> str:
    """The part named on the command line ("" when none: --help, --version or an error)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in HELP else ""
    return ""


def joined_expressions(argv: list[str]) -> list[str]:
    """``--f -x*y`` as ``--f=-x*y``: argparse would take a value starting with '-' for a flag."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in EXPRESSION_FLAGS and arg[:1] == "-" and arg[:2] != "--":
            out[-1] += "=" + arg
        else:
            out.append(arg)
    return out


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A library warning as the command line prints it: ``gradgames: warning: ...``."""
    return f"gradgames: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # Figures are written to files, no screen is assumed. Set here, in the entry point alone
    # (the library never picks a backend), and read by matplotlib when a command imports it.
    os.environ["MPLBACKEND"] = "Agg"
    if hasattr(sys.stdout, "reconfigure"):  # an ASCII-only terminal shows ± as \xb1
        sys.stdout.reconfigure(errors="backslashreplace")
    warnings.formatwarning = _one_line_warning
    args = build_parser(requested_part(argv)).parse_args(joined_expressions(argv))
    message = None
    try:
        status = args.func(args) or 0
    except ConfigError as exc:
        message, status = exc.for_command_line(), exc.exit_code
    except GradgamesError as exc:
        message, status = str(exc), exc.exit_code
    except KeyboardInterrupt:
        print("gradgames: interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError:  # e.g. `gradgames ... --json | head`: the reader left early
        status = 141
    except OSError as exc:  # a file or device failing under the command (EIO, a full disk)
        where = exc.filename or "a file or the output"
        message, status = f"could not read or write {where}: {exc.strerror or exc}", 2
    if status != 141:
        try:
            sys.stdout.flush()
        except OSError as exc:  # 120: Python's own status when stdout fails at exit
            message, status = f"could not write the output: {exc.strerror or exc}", 120
    if message is not None:  # one line, whatever the paths in it hold
        text = message.replace("\r", "\\r").replace("\n", "\\n")
        print(f"gradgames: error: {text}", file=sys.stderr)
    if status in (120, 141):  # what stdout still buffers goes nowhere, not to a second error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(status)
