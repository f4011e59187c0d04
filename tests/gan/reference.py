"""A plain training step, written the textbook way, as the oracle for the fast one.

Separate discriminator passes over real and fake images, sigmoid + BCELoss, fp32, gradients
freed between steps: the computation the assignment describes.
"""

import torch
from torch import nn


def plain_step(generator, discriminator, opt_g, opt_d, real):
    bce = nn.BCELoss()
    b = real.shape[0]
    z = torch.randn(b, generator.config.noise_dim)
    fake = generator(z)
    opt_d.zero_grad()
    p_real = torch.sigmoid(discriminator(real))
    p_fake = torch.sigmoid(discriminator(fake.detach()))
    d_loss = bce(p_real, torch.ones(b)) + bce(p_fake, torch.zeros(b))
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = bce(torch.sigmoid(discriminator(fake)), torch.ones(b))
    g_loss.backward()
    opt_g.step()
    return torch.stack([d_loss, g_loss, p_real.mean(), p_fake.mean()]).detach()
