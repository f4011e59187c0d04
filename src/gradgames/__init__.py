"""gradgames: gradient methods in games.

Three parts, one subpackage each: :mod:`gradgames.bandit` (softmax policy gradients on
k-armed bandits), :mod:`gradgames.saddle` (descent-ascent dynamics on saddle-point problems)
and :mod:`gradgames.gan` (a DCGAN on Fashion-MNIST).
"""

__version__ = "0.1.0"
