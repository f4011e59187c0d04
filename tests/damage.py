"""Generated damage to the JSON a run writes: any value anywhere replaced, a key dropped or
added, a value wrapped in a list, the file nested 50,000 deep, cut short, or a link to
/dev/null (hypothesis strategies for the damage campaigns)."""

from __future__ import annotations

import copy
import json
from functools import reduce
from operator import getitem
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                  max_size=3),
    max_leaves=10,
)  # fmt: skip
numbers = st.sampled_from([-1, -1e300, 10**400, 1e308, 0.5, 2**63, True])


def places(node: Any, at: tuple = ()):
    """The path of every value in ``node`` (a parsed JSON), ``()`` the whole."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from places(value, (*at, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from places(value, (*at, i))


@st.composite
def damaged(draw, data: Any) -> Any:
    """A copy of ``data`` with one value replaced (a generated value, an out-of-range number),
    dropped, wrapped in a list, or a key added beside it."""
    data = copy.deepcopy(data)
    at = draw(st.sampled_from(list(places(data))[1:]))
    parent = reduce(getitem, at[:-1], data)
    how = draw(st.sampled_from(["value", "number", "drop", "wrap", "extra"]))
    if how == "value":
        parent[at[-1]] = draw(json_values)
    elif how == "number":
        parent[at[-1]] = draw(numbers)
    elif how == "drop":
        del parent[at[-1]]
    elif how == "wrap":
        parent[at[-1]] = [parent[at[-1]]]
    elif isinstance(parent, dict):
        parent["unexpected"] = 1
    else:
        parent.append(parent[-1] if isinstance(parent[-1], str) else {"unexpected": 1})
    return data


def spoil(path: Path, how: str, data: Any = None) -> None:
    """Writes damage into ``path``: ``json`` (``data``), ``deep`` (nested 50,000 deep),
    ``truncated`` (the first half of its text), ``devnull`` (a link to /dev/null), ``binary``."""
    text = path.read_text() if path.is_file() else ""
    path.unlink(missing_ok=True)
    if how == "json":
        path.write_text(json.dumps(data))
    elif how == "deep":
        path.write_text("[" * 50_000 + "]" * 50_000)
    elif how == "truncated":
        path.write_text(text[: len(text) // 2])
    elif how == "devnull":
        path.symlink_to("/dev/null")
    else:
        path.write_bytes(b"\x80\xff\x00" * 10)
