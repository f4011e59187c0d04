"""Start-up time of the command line: how long `gradgames ...` takes before it does anything.

Each command runs as a fresh process (`python -m gradgames ...`), interleaved round by round so
that the machine's noise hits every command alike; the table gives each one's median wall time
and what it imported (torch, matplotlib), beside the bare interpreter (`python -c pass`) as the
floor measured in the same run. Targets (issue 16): `--help` and `--version` at most 0.5 s and
without torch or matplotlib; every `<part> --help` complete and without them too.

    .venv/bin/python benchmarks/cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

PROBE = (
    "import runpy, sys; sys.argv = ['gradgames', *sys.argv[1:]];\n"
    "try:\n    runpy.run_module('gradgames', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "print('IMPORTED', *[m for m in ('torch', 'matplotlib') if m in sys.modules], "
    "file=sys.stderr)"
)

COMMANDS = [
    ["--version"],
    ["--help"],
    ["bandit", "--help"],
    ["bandit", "run", "--help"],
    ["saddle", "--help"],
    ["saddle", "analyze", "--help"],
    ["gan", "--help"],
    ["gan", "train", "--help"],
    ["reproduce", "--help"],
]


def timed(argv: list[str]) -> tuple[float, str]:
    """Wall seconds of one fresh process, and the heavy modules it imported."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    seconds = time.perf_counter() - start
    line = [x for x in done.stderr.splitlines() if x.startswith("IMPORTED")]
    heavy = line[-1].removeprefix("IMPORTED").strip() if line else "(failed)"
    return seconds, heavy or "-"


def floor() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    heavy: dict[str, str] = {}
    bare: list[float] = []
    for _ in range(args.repeats):
        bare.append(floor())
        for command in COMMANDS:
            seconds, imported = timed(command)
            times[" ".join(command)].append(seconds)
            heavy[" ".join(command)] = imported
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    print(f"{machine}, python {platform.python_version()}; medians of {args.repeats} processes")
    print("| command | median s | over bare python | imports |\n|---|---|---|---|")
    base = statistics.median(bare)
    print(f"| python -c pass | {base:.3f} | 0.000 | - |")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| gradgames {name} | {median:.3f} | {median - base:.3f} | {heavy[name]} |")


if __name__ == "__main__":
    main()
