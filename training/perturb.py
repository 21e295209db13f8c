"""Embedding-space perturbations of the input token embeddings (never of the prompt).

- Gaussian noise (PTP-RN): delta ~ N(0, sigma^2) on every real (non-padding) token.
- PGD (PTP-ADV): random start inside the eps-ball, K ascent steps of size `step_size` on the
  task loss, each followed by projection onto the ball; per example, masked to real tokens.
  Written by hand because no maintained library offers PGD on a PEFT model's input embeddings;
  the shape follows FreeLB/SMART: l2 balls over the whole example, or linf per coordinate.
All randomness comes from an explicit torch.Generator.
"""
from __future__ import annotations

import torch

NORMS = ("l2", "linf")


def _per_example_norm(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


def project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / _per_example_norm(delta).clamp(min=1e-12)).clamp(max=1.0)
    return delta * scale


def gaussian_noise(embeds: torch.Tensor, mask: torch.Tensor, sigma: float, generator: torch.Generator):
    noise = torch.randn(embeds.shape, generator=generator, device=generator.device).to(embeds)
    return embeds + sigma * noise * mask.unsqueeze(-1).to(embeds.dtype)


def random_start(embeds, mask, eps: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(embeds.dtype)
    if norm == "linf":
        delta = (torch.rand(embeds.shape, generator=generator, device=generator.device).to(embeds) * 2 - 1) * eps
        return delta * m
    direction = torch.randn(embeds.shape, generator=generator, device=generator.device).to(embeds) * m
    radius = torch.rand((embeds.shape[0],), generator=generator, device=generator.device).to(embeds) * eps
    return direction / _per_example_norm(direction).clamp(min=1e-12) * radius.view(-1, 1, 1)


def pgd(embeds, mask, loss_fn, eps: float, step_size: float, steps: int, norm: str,
        generator: torch.Generator) -> tuple[torch.Tensor, bool]:
    """Adversarial embeddings (detached delta) and whether every ascent step was finite.

    `loss_fn(perturbed_embeds) -> scalar` is the loss to increase. A step whose loss or gradient
    is not finite is not applied.
    """
    m = mask.unsqueeze(-1).to(embeds.dtype)
    base = embeds.detach()
    delta = random_start(base, mask, eps, norm, generator)
    finite = True
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = loss_fn(base + delta)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = delta.detach()
        if not (torch.isfinite(loss) and torch.isfinite(grad).all()):
            finite = False
            continue
        if norm == "linf":
            step = grad.sign()
        else:
            step = grad / _per_example_norm(grad).clamp(min=1e-12)
        delta = project(delta + step_size * step * m, eps, norm) * m
    return base + delta, finite
