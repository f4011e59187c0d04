"""The game dynamics of Part 2 for the GAN: one step of each, and the optimiser they share.

With ``u(p)`` the update an optimiser makes from the gradient at ``p`` (``-lr g`` for sgd,
``-lr m_hat / (sqrt(v_hat) + eps)`` for adam, advancing its moments), one step of

* ``alt-gda``  D steps, then G steps against the new D (the assignment's order);
* ``gda``      both gradients at the same point, applied together;
* ``eg``       extragradient: both players extrapolate ``p' = p + u(p)``, then
  ``p <- p + u(p')`` from the saved ``p``; two gradient evaluations a step;
* ``ogda``     optimistic: ``p <- p + 2 u_t - u_(t-1)`` (``u_0 = 0``); one evaluation a step;
* ``nm-gda``   alt-gda with momentum -0.5: Adam's beta1 with adam, heavy ball with sgd;
* ``co``       consensus: each player's gradient plus ``gamma grad(|v|^2 / 2)``, v the
  players' gradients, by double backward, applied together.

The Adam variants follow the official code of Gidel et al., "A Variational Inequality
Perspective on Generative Adversarial Networks" (ICLR 2019), GauthierGidel/
Variational-Inequality-GAN: ``optim/extragradient.py`` (``ExtraAdam.update``,
``Extragradient.extrapolation`` and ``.step``: Adam's moments and its step count advance on
the extrapolation as on the update, the update applies to the saved point) and
``optim/omd.py`` (``OptimisticAdam.step``: ``p += 2 u_t - u_(t-1)`` with ``u`` the
bias-corrected Adam update, the first step ``2 u_1``; Daskalakis et al., "Training GANs with
Optimism", ICLR 2018). Their training script draws a new minibatch for the update; here both
evaluations of a step share the step's real images and draw fresh noise, so that a step is one
minibatch of the epoch. Written by hand (:class:`GameOptimizer`, 40 lines): the official
optimisers use APIs torch removed (``add_(scalar, tensor)``), and they and cooper-optim 1.0.1's
ExtraAdam (ported from them) keep the saved point in a list outside ``state``, where
checkpoints miss it; cooper-optim has no OptimisticAdam, and torch's Adam refuses the
negative beta1 of nm-gda. Adam's eps is added after the bias correction, as in torch's Adam
(the official code adds it before). Everything the dynamics remember (moments, momentum
buffer, the previous update) lives in the optimiser's ``state``, so checkpoints save it and
resuming is exact; the saved point of eg exists only within a step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gradgames.gan import accel
from gradgames.gan.config import TrainConfig

SIMULTANEOUS = ("gda", "ogda", "eg", "co")


class GameOptimizer(torch.optim.Optimizer):
    """Adam (``betas``; beta1 may be negative) or SGD with heavy-ball ``momentum`` (``betas``
    None), applied plainly, optimistically (``mode="optimistic"``) or as extragradient
    (``mode="extra"``: :meth:`extrapolate`, then :meth:`step`)."""

    def __init__(self, params, lr: float, betas=None, momentum: float = 0.0, mode="plain"):
        super().__init__(params, dict(lr=lr, betas=betas, momentum=momentum, mode=mode, eps=1e-8))

    def _update(self, p: torch.Tensor, group: dict) -> torch.Tensor:
        g, state, lr = p.grad, self.state[p], group["lr"]
        if group["betas"] is None:
            if group["momentum"]:  # torch.optim.SGD's buffer: b <- mu b + g, first b = g
                b = state.get("momentum_buffer")
                b = g.clone() if b is None else b.mul_(group["momentum"]).add_(g)
                g = state["momentum_buffer"] = b
            return -lr * g
        b1, b2 = group["betas"]
        t = state["step"] = state.get("step", 0) + 1
        m = state.setdefault("exp_avg", torch.zeros_like(p)).mul_(b1).add_(g, alpha=1 - b1)
        v = state.setdefault("exp_avg_sq", torch.zeros_like(p))
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        return (m / (1 - b1**t)).div_((v / (1 - b2**t)).sqrt_().add_(group["eps"])).mul_(-lr)

    def _params(self):
        return [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]

    @torch.no_grad()
    def extrapolate(self) -> None:
        """``p <- p + u(p)``, the point ``p`` saved in ``state["saved"]`` for :meth:`step`."""
        for p, group in self._params():
            self.state[p]["saved"] = p.clone()
            p.add_(self._update(p, group))

    @torch.no_grad()
    def step(self, closure=None):
        for p, group in self._params():
            u, state = self._update(p, group), self.state[p]
            if group["mode"] == "extra":
                p.copy_(state.pop("saved").add_(u))
            elif group["mode"] == "optimistic":
                p.add_(u, alpha=2.0).sub_(state.get("previous", torch.zeros_like(u)))
                state["previous"] = u
            else:
                p.add_(u)


def optimizer(config: TrainConfig, params) -> GameOptimizer:
    """The optimiser of one player for ``config``'s dynamics and optimizer."""
    mode = {"eg": "extra", "ogda": "optimistic"}.get(config.dynamics, "plain")
    momentum = config.momentum or 0.0
    if config.optimizer == "sgd":
        return GameOptimizer(params, config.lr, None, momentum, mode)
    beta1 = momentum if config.dynamics == "nm-gda" else config.beta1
    return GameOptimizer(params, config.lr, (beta1, config.beta2), 0.0, mode)


def game_step(
    generator: nn.Module,
    discriminator: nn.Module,
    opt_g: GameOptimizer,
    opt_d: GameOptimizer,
    real: torch.Tensor,
    config: TrainConfig,
    autocast=None,
    d_for_g: nn.Module | None = None,
) -> torch.Tensor:
    """One step of ``config.dynamics`` on the minibatch ``real``, the losses of
    :func:`gradgames.gan.step.train_step` (plus R1 on D's with ``config.r1``).

    Returns:
        ``(4,)``: ``[L_D, L_G, mean sigmoid D(x), mean sigmoid D(G(z))]`` at the step's start.
    """
    autocast = autocast or accel.autocast(real.device, "fp32")
    d_for_g = d_for_g or discriminator
    if config.dynamics == "co":
        return _consensus(generator, discriminator, opt_g, opt_d, real, config)
    fake, stats = _d_gradients(generator, discriminator, real, config.r1, autocast)
    if config.dynamics not in SIMULTANEOUS:  # alt-gda, nm-gda: D first, G sees the new D
        opt_d.step()
    stats[1] = _g_gradients(generator, d_for_g, fake, autocast)
    if config.dynamics == "eg":  # both extrapolate, then both update from the saved point
        opt_d.extrapolate(), opt_g.extrapolate()
        fake, _ = _d_gradients(generator, discriminator, real, config.r1, autocast)
        _g_gradients(generator, d_for_g, fake, autocast)
    if config.dynamics in SIMULTANEOUS:
        opt_d.step()
    opt_g.step()
    return stats


def _d_loss(generator, discriminator, real, r1, autocast, detach=True):
    """Fresh noise z, ``fake = G(z)`` and L_D (+ R1) at the current point:
    ``(fake, L_D, logits (2B,))``; ``detach=False`` keeps L_D's path to G (for co)."""
    b = real.shape[0]
    z = torch.randn(b, getattr(generator, "module", generator).config.noise_dim, device=real.device)
    real = real.detach().requires_grad_(r1 > 0)
    with autocast:
        fake = generator(z)
        logits = discriminator(torch.cat([real, fake.detach() if detach else fake])).float()
        loss = _bce(logits[:b], 1.0) + _bce(logits[b:], 0.0)
    if r1 > 0:  # D has no batch norm: the real rows' input gradients are their own
        (grad,) = torch.autograd.grad(logits[:b].sum(), real, create_graph=True)
        loss = loss + 0.5 * r1 * grad.pow(2).flatten(1).sum(1).mean()
    return fake, loss, logits


def _d_gradients(generator, discriminator, real, r1, autocast):
    """D's gradient of L_D (+ R1) in ``.grad`` at fresh noise; ``(fake, stats)``."""
    fake, loss, logits = _d_loss(generator, discriminator, real, r1, autocast)
    discriminator.zero_grad(set_to_none=False)
    loss.backward()
    return fake, _stats(loss, loss, logits)


def _g_gradients(generator, d_for_g, fake, autocast) -> torch.Tensor:
    """G's gradient of the non-saturating L_G at ``fake`` in ``.grad`` (D frozen); L_G."""
    d_for_g.requires_grad_(False)
    with autocast:
        loss = _bce(d_for_g(fake).float(), 1.0)
    generator.zero_grad(set_to_none=False)
    loss.backward()
    d_for_g.requires_grad_(True)
    return loss.detach()


def _consensus(generator, discriminator, opt_g, opt_d, real, config) -> torch.Tensor:
    """co: ``g_i + gamma grad_i |v|^2 / 2`` with ``v = (grad_D L_D, grad_G L_G)``, both at once
    (Mescheder, Nowozin and Geiger 2017, Algorithm 1), by double backward."""
    params_d, params_g = [*discriminator.parameters()], [*generator.parameters()]
    fp32 = accel.autocast(real.device, "fp32")
    fake, d_loss, logits = _d_loss(generator, discriminator, real, config.r1, fp32, detach=False)
    g_loss = _bce(discriminator(fake), 1.0)
    v = [*torch.autograd.grad(d_loss, params_d, create_graph=True),
         *torch.autograd.grad(g_loss, params_g, create_graph=True)]  # fmt: skip
    half_norm = 0.5 * sum(g.pow(2).sum() for g in v)
    reg = torch.autograd.grad(half_norm, params_d + params_g, allow_unused=True)
    for p, g, r in zip(params_d + params_g, v, reg, strict=True):
        p.grad = (g if r is None else g + config.co_gamma * r).detach()
    opt_d.step(), opt_g.step()
    return _stats(d_loss, g_loss, logits)


@torch.no_grad()
def _stats(d_loss, g_loss, logits) -> torch.Tensor:
    """``[L_D, L_G, mean sigmoid D(x), mean sigmoid D(G(z))]`` (4,) from the 2B logits."""
    probs = logits.sigmoid()
    b = len(probs) // 2
    return torch.stack([d_loss, g_loss, probs[:b].mean(), probs[b:].mean()]).detach()


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))
