"""A small, safe expression language for objectives f(x, y), evaluated on torch tensors.

Grammar (Python's precedence; ``**`` is right-associative and binds tighter than unary minus)::

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := atom ("**" unary)?
    atom    := NUMBER | VARIABLE | FUNCTION "(" sum ")" | "(" sum ")"

Variables are ``x`` and ``y`` (scalars) or ``x1..xn`` and ``y1..ym`` (coordinates of vectors);
functions are sin cos tan exp log sqrt tanh abs. The text is split into tokens by one regular
expression and parsed by recursive descent into a tree of small dataclasses; nothing is ever
handed to Python's ``eval``, ``exec`` or ``ast``. Every refusal is a one-line
:class:`~gradgames.errors.UsageError` naming the offending token and its column (1-based).

Bounds that keep any input cheap: :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of
nesting, :data:`MAX_NODES` tree nodes, and constant exponents of magnitude at most
:data:`MAX_EXPONENT` (so ``9**9**9`` is refused instead of computed). A constant part that is
not a finite number (``exp(1000)``, ``1/0``, ``log(-1)``) and a division by a constant zero
(``x/0``) are refused too: f would be undefined everywhere.

``a ** b`` with a variable exponent is computed as ``exp(b log a)`` where ``a > 0`` (torch's
``pow`` elsewhere): torch's own rule sets the derivative of ``a ** b`` in a to 0 wherever
``b == 0``, which makes the mixed second derivatives of ``x**y`` at ``y = 0`` disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from gradgames.errors import UsageError

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_NODES = 1000
MAX_EXPONENT = 100.0
MAX_INDEX = 64

FUNCTIONS = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "exp": torch.exp, "log": torch.log,
    "sqrt": torch.sqrt, "tanh": torch.tanh, "abs": torch.abs,
}
ALLOWED = "numbers, x, y, x1..xn, y1..ym, + - * / **, parentheses and " + " ".join(FUNCTIONS)

_TOKEN = re.compile(
    r"(?P<space>[ \t]+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/()])"
)
_VARIABLE = re.compile(r"([xy])([1-9][0-9]*)?")


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int  # 1-based


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Var:
    player: str  # "x" or "y"
    index: int  # 0 for the scalar x / y, i >= 1 for x_i / y_i


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Sum:
    terms: tuple[tuple[str, Node], ...]  # (("+", first), ("-", second), ...)


@dataclass(frozen=True)
class Product:
    factors: tuple[tuple[str, Node], ...]  # (("*", first), ("/", second), ...)


@dataclass(frozen=True)
class Pow:
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Call:
    function: str
    argument: Node


Node = Num | Var | Neg | Sum | Product | Pow | Call


def _refuse(message: str, token: Token) -> UsageError:
    shown = "end of input" if token.kind == "end" else repr(token.text)
    return UsageError(f"f: at column {token.column} ({shown}): {message}")


def tokenize(text: str) -> list[Token]:
    """Splits ``text`` into tokens; the first character outside the language ends the list
    as a ``"bad"`` token, so that the parser reports whichever problem comes first."""
    if len(text) > MAX_LENGTH:
        raise UsageError(
            f"f: the expression has {len(text)} characters; at most {MAX_LENGTH} are accepted"
        )
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            tokens.append(Token("bad", text[pos], pos + 1))
            return tokens
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.nodes = 0

    @property
    def token(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind == "bad":
            hint = "; use ** for powers" if token.text == "^" else ""
            raise _refuse(f"character not allowed{hint}; allowed: {ALLOWED}", token)
        return token

    def advance(self) -> Token:
        token = self.token
        self.pos += 1
        return token

    def node(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _refuse(f"the expression has more than {MAX_NODES} terms", self.token)
        return node

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _refuse(f"the expression nests more than {MAX_DEPTH} levels deep", self.token)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise _refuse("the expression is empty", self.token)
        root = self.sum()
        if self.token.text == ")":
            raise _refuse("unmatched ')'", self.token)
        if self.token.kind != "end":
            raise _refuse("expected an operator (+ - * / **)", self.token)
        return root

    def sum(self) -> Node:
        terms = [("+", self.product())]
        while self.token.text in ("+", "-") and self.token.kind == "op":
            terms.append((self.advance().text, self.product()))
        return terms[0][1] if len(terms) == 1 else self.node(Sum(tuple(terms)))

    def product(self) -> Node:
        factors = [("*", self.unary())]
        while self.token.text in ("*", "/") and self.token.kind == "op":
            factors.append((self.advance().text, self.unary()))
        return factors[0][1] if len(factors) == 1 else self.node(Product(tuple(factors)))

    def unary(self) -> Node:
        if self.token.kind == "op" and self.token.text in ("-", "+"):
            sign = self.advance().text
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return self.node(Neg(operand)) if sign == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.token.text != "**":
            return base
        star = self.advance()
        self.enter()
        exponent = self.unary()
        self.depth -= 1
        _check_exponent(exponent, star)
        return self.node(Pow(base, exponent))

    def atom(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise _refuse("the number is too large", token)
            return self.node(Num(value))
        if token.kind == "name":
            return self.name(token)
        if token.text == "(":
            return self.group(token)
        raise _refuse("expected a number, a variable, a function or '('", token)

    def group(self, opening: Token) -> Node:
        self.enter()
        inner = self.sum()
        self.depth -= 1
        if self.token.text != ")":
            raise _refuse(f"expected ')' to close the '(' at column {opening.column}", self.token)
        self.advance()
        return inner

    def name(self, token: Token) -> Node:
        if token.text in FUNCTIONS:
            if self.token.text != "(":
                raise _refuse(f"expected '(' after the function {token.text}", self.token)
            argument = self.group(self.advance())
            return self.node(Call(token.text, argument))
        match = _VARIABLE.fullmatch(token.text)
        if match is None:
            raise _refuse(f"unknown name; allowed: {ALLOWED}", token)
        index = int(match.group(2) or 0)
        if index > MAX_INDEX:
            raise _refuse(f"variable index above {MAX_INDEX}", token)
        return self.node(Var(match.group(1), index))


def _check_exponent(exponent: Node, star: Token) -> None:
    """Refuses a constant exponent of magnitude above :data:`MAX_EXPONENT`."""
    if variables(exponent):
        return
    value = float(evaluate(exponent, {}))
    if not math.isfinite(value) or abs(value) > MAX_EXPONENT:
        raise _refuse(f"the exponent is {value:g}; at most {MAX_EXPONENT:g} in magnitude", star)


def variables(node: Node) -> set[tuple[str, int]]:
    """The ``(player, index)`` pairs of the variables that occur in ``node``."""
    if isinstance(node, Var):
        return {(node.player, node.index)}
    found: set[tuple[str, int]] = set()
    for child in _children(node):
        found |= variables(child)
    return found


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Neg,)):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.argument,)
    if isinstance(node, Pow):
        return (node.base, node.exponent)
    if isinstance(node, Sum):
        return tuple(term for _, term in node.terms)
    if isinstance(node, Product):
        return tuple(factor for _, factor in node.factors)
    return ()


def evaluate(node: Node, env: dict[tuple[str, int], torch.Tensor]) -> torch.Tensor:
    """The value of ``node`` with variables taken from ``env`` (float64 tensors)."""
    if isinstance(node, Num):
        return torch.tensor(node.value, dtype=torch.float64)
    if isinstance(node, Var):
        return env[(node.player, node.index)]
    if isinstance(node, Neg):
        return -evaluate(node.operand, env)
    if isinstance(node, Call):
        return FUNCTIONS[node.function](evaluate(node.argument, env))
    if isinstance(node, Pow):
        base, exponent = evaluate(node.base, env), evaluate(node.exponent, env)
        if not variables(node.exponent):
            return torch.pow(base, exponent)
        positive = base > 0
        smooth = torch.exp(exponent * torch.log(torch.where(positive, base, torch.ones_like(base))))
        return torch.where(positive, smooth, torch.pow(base, exponent))
    if isinstance(node, Sum):
        total = evaluate(node.terms[0][1], env)
        for sign, term in node.terms[1:]:
            value = evaluate(term, env)
            total = total + value if sign == "+" else total - value
        return total
    total = evaluate(node.factors[0][1], env)
    for op, factor in node.factors[1:]:
        value = evaluate(factor, env)
        total = total * value if op == "*" else total / value
    return total


def render(node: Node) -> str:
    """The text of ``node``, fully parenthesised (for messages)."""
    if isinstance(node, Num):
        return f"{node.value:g}"
    if isinstance(node, Var):
        return node.player + (str(node.index) if node.index else "")
    if isinstance(node, Neg):
        return f"-({render(node.operand)})"
    if isinstance(node, Call):
        return f"{node.function}({render(node.argument)})"
    if isinstance(node, Pow):
        return f"({render(node.base)})**({render(node.exponent)})"
    parts = node.terms if isinstance(node, Sum) else node.factors
    text = render(parts[0][1])
    for op, part in parts[1:]:
        text += f" {op} {render(part)}"
    return f"({text})"


def _check_constants(node: Node) -> float | None:
    """The value of ``node`` when it holds no variable (else None), refusing a constant that is
    not finite and a division by a constant zero (one-line UsageErrors)."""
    values = [_check_constants(child) for child in _children(node)]
    if isinstance(node, Product):
        for (op, factor), value in zip(node.factors, values, strict=True):
            if op == "/" and value == 0.0:
                shown = "" if isinstance(factor, Num) else f" ({render(factor)} = 0)"
                raise UsageError(f"f: {render(node)} divides by zero{shown}")
    if isinstance(node, Var) or any(v is None for v in values):
        return None
    with torch.no_grad():
        value = float(evaluate(node, {}))
    if not math.isfinite(value):
        raise UsageError(
            f"f: the constant {render(node)} is {value} in float64 (an overflow, a division by "
            "zero or a value outside the function's domain)"
        )
    return value


def degree(node: Node) -> int | None:
    """The polynomial degree of ``node`` in (x, y), or None when it is not a polynomial."""
    if isinstance(node, Num):
        return 0
    if isinstance(node, Var):
        return 1
    if isinstance(node, Neg):
        return degree(node.operand)
    if isinstance(node, Sum):
        degrees = [degree(term) for _, term in node.terms]
        return None if None in degrees else max(degrees)
    if isinstance(node, Product):
        total = 0
        for op, factor in node.factors:
            d = degree(factor)
            if d is None or (op == "/" and d > 0):
                return None
            total += d
        return total
    if isinstance(node, Pow):
        return _power_degree(node)
    return None if variables(node) else 0


def _power_degree(node: Pow) -> int | None:
    base = degree(node.base)
    if variables(node.exponent) or base is None:
        return None if variables(node) else 0
    exponent = float(evaluate(node.exponent, {}))
    if base == 0:
        return 0
    if exponent < 0 or exponent != int(exponent):
        return None
    return base * int(exponent)


class Expression:
    """A parsed objective ``f(x, y)``.

    Attributes:
        text: the source text.
        root: the expression tree.
        x_dim, y_dim: the sizes of x and y (1 for the scalar ``x`` / ``y``, else the largest
            index used; a player that does not occur gets size 1).
        degree: the polynomial degree, or None when ``f`` is not a polynomial.
    """

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise UsageError(f"f: expected an expression string, got {type(text).__name__}")
        self.text = text
        self.root = _Parser(tokenize(text)).parse()
        _check_constants(self.root)
        used = variables(self.root)
        self.x_dim = self._dimension(used, "x")
        self.y_dim = self._dimension(used, "y")
        self.degree = degree(self.root)

    def _dimension(self, used: set[tuple[str, int]], player: str) -> int:
        indices = {index for p, index in used if p == player}
        if 0 in indices and len(indices) > 1:
            raise UsageError(
                f"f: uses both {player} and indexed {player}1, {player}2, ...: write the "
                f"scalar {player} as {player}1 or use only {player}"
            )
        return max(indices | {1})

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``f(x, y)`` for ``x`` of shape (..., x_dim) and ``y`` of shape (..., y_dim)."""
        env: dict[tuple[str, int], torch.Tensor] = {("x", 0): x[..., 0], ("y", 0): y[..., 0]}
        for i in range(self.x_dim):
            env[("x", i + 1)] = x[..., i]
        for j in range(self.y_dim):
            env[("y", j + 1)] = y[..., j]
        value = evaluate(self.root, env)
        shape = np.broadcast_shapes(x.shape[:-1], y.shape[:-1], value.shape)
        return value if value.shape == shape else value.expand(shape)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse(text: str) -> Expression:
    """Parses ``text``; raises a one-line UsageError that points at the first bad token."""
    return Expression(text)
