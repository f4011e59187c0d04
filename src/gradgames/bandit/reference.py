"""The same algorithm as :func:`~gradgames.bandit.experiment.simulate`, one run at a time.

A plain Python loop over steps and arms with Python floats and the textbook formulas of SGD,
RMSprop and Adam written out, fed the same random numbers (the run's counter-based stream).
It is the readable specification the vectorised simulator is tested against
(``tests/bandit/test_equivalence.py``) and the baseline of ``benchmarks/bandit_speed.py``.
It does not handle divergence.
"""

from __future__ import annotations

import math

import numpy as np

from gradgames.bandit.config import RunConfig
from gradgames.bandit.learner import schedule_fn
from gradgames.bandit.streams import ACTION, REWARD, Streams
from gradgames.bandit.testbeds import make_testbed

RMS_ALPHA, ADAM_BETAS, EPS = 0.99, (0.9, 0.999), 1e-8


def _policy(theta: list[float]) -> tuple[list[float], float]:
    top = max(theta)
    z = [x - top for x in theta]
    e = [math.exp(x) for x in z]
    total = sum(e)
    pi = [x / total for x in e]
    return pi, math.log(total) - sum(p * x for p, x in zip(pi, z, strict=True))


def _sample(pi: list[float], u: float) -> int:
    below, cumulative = 0, 0.0
    for p in pi:
        cumulative += p
        below += cumulative < u
    return min(below, len(pi) - 1)


def _direction(rule: str, pi: list[float], action: int, adv: float) -> list[float]:
    if rule == "full":
        return [adv * ((i == action) - p) for i, p in enumerate(pi)]
    return [adv * (1.0 - pi[action]) if i == action else 0.0 for i in range(len(pi))]


class _Optimizer:
    """SGD, RMSprop or Adam on a list, ascending ``g`` (``G = -g`` is the gradient)."""

    def __init__(self, name: str, arms: int):
        self.name, self.n = name, 0
        self.m, self.v = [0.0] * arms, [0.0] * arms

    def step(self, theta: list[float], g: list[float], rate: float) -> list[float]:
        self.n += 1
        out = []
        for i, (x, gi) in enumerate(zip(theta, g, strict=True)):
            grad = -gi
            if self.name == "sgd":
                out.append(x - rate * grad)
            elif self.name == "rmsprop":
                self.v[i] = RMS_ALPHA * self.v[i] + (1 - RMS_ALPHA) * grad * grad
                out.append(x - rate * grad / (math.sqrt(self.v[i]) + EPS))
            else:
                b1, b2 = ADAM_BETAS
                self.m[i] = b1 * self.m[i] + (1 - b1) * grad
                self.v[i] = b2 * self.v[i] + (1 - b2) * grad * grad
                m_hat, v_hat = self.m[i] / (1 - b1**self.n), self.v[i] / (1 - b2**self.n)
                out.append(x - rate * m_hat / (math.sqrt(v_hat) + EPS))
        return out


class _Plateau:
    """ReduceLROnPlateau's rule on the mean of the last ``window`` rewards."""

    def __init__(self, window: int, patience: int, factor: float, threshold: float):
        self.window, self.patience = window, patience
        self.factor, self.threshold = factor, threshold
        self.rewards: list[float] = []
        self.best, self.bad, self.scale = -math.inf, 0, 1.0

    def observe(self, reward: float) -> None:
        self.rewards.append(reward)
        recent = self.rewards[-self.window :]
        metric = sum(recent) / len(recent)
        if metric > self.best + self.threshold:
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.scale *= self.factor
            self.bad = 0


def _baseline(kind: str, t: int, mean_before: float, reward: float) -> float:
    """``b_t``: 0 (``none``); ``R_bar_t``, the mean of ``R_1 .. R_{t-1}`` with ``R_bar_1 = R_1``
    (``mean``); the mean of ``R_1 .. R_t`` (``mean-inclusive``)."""
    if kind == "none":
        return 0.0
    if kind == "mean":
        return reward if t == 1 else mean_before
    return mean_before + (reward - mean_before) / t


def simulate_run(config: RunConfig, run: int) -> dict:
    """Simulates run ``run`` of ``config`` step by step.

    Returns:
        ``{"reward", "optimal", "entropy", "reward_variance"}`` (lists over steps),
        ``"theta"`` (final preferences), ``"convergence_step"`` (-1: not converged).
    """
    streams = Streams(config.seed, np.array([run]))
    testbed = make_testbed(config.bandit, streams)
    q = testbed.values[0].tolist()
    us = streams.uniform(np.arange(config.steps), ACTION)[:, 0].tolist()
    noises = testbed.noise(streams.uniform(np.arange(config.steps), REWARD))[:, 0].tolist()
    lc, k, w = config.learner, config.bandit.arms, config.window
    schedule = schedule_fn(lc)
    optimizer = _Optimizer(lc.optimizer, k)
    plateau = _Plateau(w, lc.patience, lc.decay_factor, lc.min_improvement)
    theta, mean_reward = [0.0] * k, 0.0
    out: dict = {"reward": [], "optimal": [], "entropy": [], "reward_variance": []}
    policies, last_unsettled = [], w
    for t in range(1, config.steps + 1):
        pi, entropy = _policy(theta)
        if t > w:
            change = max(abs(a - b) for a, b in zip(pi, policies[t - 1 - w], strict=True))
            last_unsettled = t if change >= config.tol else last_unsettled
        policies.append(pi)
        action = _sample(pi, us[t - 1])
        if config.bandit.testbed == "gaussian":
            reward = q[action] + noises[t - 1]
        else:
            reward = float(noises[t - 1] < q[action])
        advantage = reward - _baseline(lc.baseline, t, mean_reward, reward)
        g = _direction(lc.rule, pi, action, advantage)
        rate = schedule(t - 1) * (plateau.scale if lc.schedule == "plateau" else 1.0)
        theta = optimizer.step(theta, g, rate)
        plateau.observe(reward)
        mean_reward += (reward - mean_reward) / t
        recent = out["reward"][-(w - 1) :] + [reward] if w > 1 else [reward]
        out["reward"].append(reward)
        out["optimal"].append(float(q[action] >= max(q)))
        out["entropy"].append(entropy)
        out["reward_variance"].append(
            float(np.var(recent, ddof=1)) if len(recent) > 1 else math.nan)
    step = last_unsettled + 1
    out["theta"] = theta
    out["convergence_step"] = step if config.steps - step + 1 >= w else -1
    return out
