"""Lazy public APIs: a part's package names its exports without importing their modules.

Each part's ``__init__`` lists its public names and the module each comes from; PEP 562's module
``__getattr__`` imports that module the first time a name is read. So importing a torch-free
module of a part (its ``config``, as the command line does to build its flags) does not import
torch, matplotlib or the rest of the part, while ``from gradgames.gan import train`` still
works as usual.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_exports(
    package: str, sources: dict[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package with lazily imported exports.

    Args:
        package: the package's ``__name__``.
        sources: public name -> the submodule (relative to ``package``) that defines it.
        public: the package's ``__all__``.

    Returns:
        ``(__getattr__, __dir__)``: the first imports ``package.sources[name]`` on first use
        and caches the value in the package's namespace; the second lists the public names.
    """
    names = sorted(set(public))

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{sources[name]}")
        value = getattr(module, name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(names))

    return __getattr__, __dir__
