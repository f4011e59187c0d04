"""gradgames: gradient methods in games.

Three parts, one subpackage each: :mod:`gradgames.bandit` (softmax policy gradients on
k-armed bandits), :mod:`gradgames.saddle` (descent-ascent dynamics on saddle-point problems)
and :mod:`gradgames.gan` (a DCGAN on Fashion-MNIST). docs/api.md shows each part's API.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gradgames")  # the one version source: pyproject.toml
except PackageNotFoundError:  # a source tree on sys.path without an installed distribution
    __version__ = "0+unknown"
