"""Property-based tests of the expression language (hypothesis).

Random expression trees are rendered to text with the fewest parentheses the grammar allows,
parsed, and evaluated; the reference evaluates the tree directly with the same torch
operations, so precedence, associativity and unary minus are checked exactly. Random hostile
strings must be refused quickly with a UsageError and without side effects.
"""

import builtins
import math
import os
import subprocess
import time
from pathlib import Path
from unittest import mock

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradgames.errors import UsageError
from gradgames.saddle.expr import FUNCTIONS, parse

SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
BINARY = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT}

numbers = st.one_of(
    st.integers(0, 12).map(float),
    st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-5, 2.5e3, 0.125]),
)
variables = st.sampled_from(["x", "y"])
leaves = st.one_of(numbers.map(lambda v: ("num", v)), variables.map(lambda v: ("var", v)))
exponents = st.one_of(
    st.integers(-3, 3).map(lambda k: ("num", float(k)) if k >= 0 else ("neg", ("num", -k))),
    variables.map(lambda v: ("var", v)),
)


def extend(children):
    return st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.sampled_from(sorted(BINARY)), children, children),
        st.tuples(st.just("pow"), children, exponents),
        st.tuples(st.just("call"), st.sampled_from(sorted(FUNCTIONS)), children),
    )


trees = st.recursive(leaves, extend, max_leaves=14)


def render(tree) -> tuple[str, int]:
    """The text of ``tree`` and its precedence level, with parentheses only where needed."""
    kind = tree[0]
    if kind == "num":
        return repr(tree[1]), ATOM
    if kind == "var":
        return tree[1], ATOM
    if kind == "call":
        return f"{tree[1]}({render(tree[2])[0]})", ATOM
    if kind == "neg":
        return "-" + wrap(tree[1], UNARY), UNARY
    if kind == "pow":
        return f"{wrap(tree[1], ATOM)} ** {wrap(tree[2], UNARY)}", POWER
    level = BINARY[kind]
    return f"{wrap(tree[1], level)} {kind} {wrap(tree[2], level + 1)}", level


def wrap(tree, minimum: int) -> str:
    text, level = render(tree)
    return text if level >= minimum else f"({text})"


def reference(tree, env) -> torch.Tensor:
    """The tree's value computed directly, operation by operation."""
    kind = tree[0]
    if kind == "num":
        return torch.tensor(tree[1], dtype=torch.float64)
    if kind == "var":
        return env[tree[1]]
    if kind == "neg":
        return -reference(tree[1], env)
    if kind == "call":
        return FUNCTIONS[tree[1]](reference(tree[2], env))
    if kind == "pow":
        return torch.pow(reference(tree[1], env), reference(tree[2], env))
    a, b = reference(tree[1], env), reference(tree[2], env)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[kind]


def has_variables(tree) -> bool:
    return tree[0] == "var" or any(has_variables(t) for t in tree[1:] if isinstance(t, tuple))


def constant_trouble(tree) -> bool:
    """Whether a part of ``tree`` without variables is not finite, or divides by a constant 0."""
    children = [t for t in tree[1:] if isinstance(t, tuple)]
    if any(constant_trouble(t) for t in children):
        return True
    if tree[0] == "/" and not has_variables(tree[2]) and float(reference(tree[2], {})) == 0.0:
        return True
    return not has_variables(tree) and not math.isfinite(float(reference(tree, {})))


points = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(tree=trees, x=points, y=points)
def test_random_expressions_evaluate_like_the_tree(tree, x, y):
    text = render(tree)[0]
    xt, yt = torch.tensor([x], dtype=torch.float64), torch.tensor([y], dtype=torch.float64)
    try:
        expression = parse(text)
    except UsageError as exc:  # refused exactly when a constant part is undefined
        assert constant_trouble(tree), (text, str(exc))
        return
    assert not constant_trouble(tree), text
    got = expression(xt, yt)
    want = reference(tree, {"x": xt[0], "y": yt[0]})
    assert torch.allclose(got, want, rtol=1e-12, atol=0.0, equal_nan=True), (text, got, want)


HOSTILE_FRAGMENTS = [
    "__import__('os').system('touch PWNED')",
    ".__class__",
    "lambda",
    "import",
    "exec",
    "eval",
    "open",
    "getattr",
    "__builtins__",
    ";",
    "=",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "`",
    "@",
    "!",
    "#",
    "$",
    "&",
    "|",
    "~",
    "<",
    ">",
    ",",
    ":",
    "\\",
    "\n",
    "\x00",
    "\u00e9",
    "\uff58",
    "%",
    "?",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, fragment=st.sampled_from(HOSTILE_FRAGMENTS), where=st.floats(0, 1))
def test_valid_text_with_a_hostile_fragment_is_refused(tree, fragment, where, tmp_path_factory):
    text = render(tree)[0]
    cut = int(where * len(text))
    assert_refused_cleanly(text[:cut] + fragment + text[cut:], tmp_path_factory.mktemp("cwd"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.text(max_size=300), st.text(alphabet="xy0123.+-*/() sincotaexplgqrthb_e", max_size=300)
    )
)
def test_random_text_is_parsed_or_refused_cleanly(text, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cwd")
    try:
        with forbidden_side_effects(cwd):
            e = parse(text)
    except UsageError as exc:
        assert "\n" not in str(exc)
        return
    value = e(torch.ones(e.x_dim, dtype=torch.float64), torch.ones(e.y_dim, dtype=torch.float64))
    assert value.ndim == 0


@settings(max_examples=50, deadline=None)
@given(length=st.integers(2001, 2_000_000), char=st.sampled_from(["x", "(", "-", "9", " "]))
def test_long_inputs_are_refused_fast(length, char):
    start = time.perf_counter()
    try:
        parse(char * length)
    except UsageError:
        pass
    else:
        raise AssertionError("a long input was accepted")
    assert time.perf_counter() - start < 1.0


def assert_refused_cleanly(text: str, cwd: Path) -> None:
    start = time.perf_counter()
    try:
        with forbidden_side_effects(cwd):
            parse(text)
    except UsageError as exc:
        assert "\n" not in str(exc)
    else:
        raise AssertionError(f"accepted {text!r}")
    assert time.perf_counter() - start < 2.0


class forbidden_side_effects:
    """Runs a block in ``cwd`` with eval, exec, compile, os.system and subprocess patched to
    fail, then checks that the block left no file behind."""

    def __init__(self, cwd: Path):
        self.cwd = Path(cwd)

    def __enter__(self):
        self.old = os.getcwd()
        os.chdir(self.cwd)
        boom = mock.Mock(side_effect=AssertionError("the parser tried to run code"))
        self.patches = [
            mock.patch.object(builtins, name, boom)
            for name in ("eval", "exec", "compile", "__import__")
        ]
        self.patches += [
            mock.patch.object(os, "system", boom),
            mock.patch.object(subprocess, "Popen", boom),
        ]
        for p in self.patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in reversed(self.patches):
            p.stop()
        os.chdir(self.old)
        assert list(self.cwd.iterdir()) == [], "the parser left a file behind"
        return False
