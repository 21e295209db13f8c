"""Embedding-space perturbations of the input token embeddings (never of the prompt).

Four named variants, each as its paper defines it (differences from the paper are stated):
- `gaussian` (PTP-RN): delta ~ N(0, sigma^2) on every real (non-padding) token.
- `pgd` (Madry et al. 2018, as used on embeddings by FreeLB/SMART's baselines): random start inside
  the eps-ball, K ascent steps of size `step_size` on the perturbed loss, each followed by
  projection onto the ball; only the last point is trained on.
- `freelb` (Zhu et al. 2020, "FreeLB", Algorithm 1 and run_glue_freelb.py): start uniform with
  magnitude init_mag / sqrt(L * d) (L real tokens, d hidden size), K ascent steps of size
  `step_size` along the l2-normalised gradient (or its sign, linf), projected onto `max_norm`
  (0: no projection); the parameter gradients of all K points are accumulated, each loss divided
  by K ("free" large batch). Here that mean is PTP's perturbed term (weighted by lambda, added to
  the clean loss); FreeLB itself trains on the perturbed points only.
- `smart` (Jiang et al. 2020, "SMART", Algorithm 1; mt-dnn's SmartPerturbation): start at
  x + N(0, sigma^2) (sigma 1e-5 there), ascend the KL divergence to the clean prediction, which is
  *detached* (a fixed target), by `step_size` along the gradient normalised per token (its
  inf-norm, the paper's default; or l2); the regulariser is then the symmetric KL in which each
  side's target is detached (mt-dnn's SymKlCriterion), see `losses.smart_kl`.
Written by hand because no maintained library offers these on a PEFT model's input embeddings.
All randomness comes from an explicit torch.Generator, or a RowNoise (the trainer's).
"""
from __future__ import annotations

import torch

NORMS = ("l2", "linf")


class RowNoise:
    """Random draws made row by row, each row from its own generator seeded by (seed, step, draw,
    global row, candidate): the same numbers for a row whatever the number of processes its batch
    is split over, so multi-process training with noise matches one process. (One generator for
    a process's whole slice would hand out other numbers once the batch is split.)"""

    def __init__(self, seed: int, device):
        self.seed, self.device = seed, torch.device(device)
        self.step, self.keys, self.draws = 0, [], 0

    def at(self, step: int, valid: torch.Tensor, first_row: int) -> "RowNoise":
        """Position at a training step; `valid` [rows, candidates] of this process's slice, whose
        first row is `first_row` in the global batch (rows of flattened inputs, in flatten's order)."""
        self.step, self.draws = step, 0
        self.keys = [(first_row + r, c) for r, c in valid.nonzero().tolist()]
        return self

    def _draw(self, fn, shape) -> torch.Tensor:
        if shape[0] != len(self.keys):
            raise ValueError(f"RowNoise: {shape[0]} rows drawn, {len(self.keys)} positioned")
        self.draws += 1
        out = []
        for row, cand in self.keys:
            key = (((self.seed * 1_000_003 + self.step) * 1_000_003 + self.draws) * 1_000_003 + row) * 1_009 + cand
            generator = torch.Generator(device=self.device).manual_seed(key % (2 ** 63))
            out.append(fn(tuple(shape[1:]), generator=generator, device=self.device))
        return torch.stack(out)

    def randn(self, shape) -> torch.Tensor:
        return self._draw(torch.randn, shape)

    def rand(self, shape) -> torch.Tensor:
        return self._draw(torch.rand, shape)


def _randn(generator, shape) -> torch.Tensor:
    if isinstance(generator, RowNoise):
        return generator.randn(shape)
    return torch.randn(shape, generator=generator, device=generator.device)


def _rand(generator, shape) -> torch.Tensor:
    if isinstance(generator, RowNoise):
        return generator.rand(shape)
    return torch.rand(shape, generator=generator, device=generator.device)


def _per_example_norm(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


def project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / _per_example_norm(delta).clamp(min=1e-12)).clamp(max=1.0)
    return delta * scale


def _ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """Steepest ascent for a step of unit size: the sign (linf) or the l2-normalised gradient."""
    return grad.sign() if norm == "linf" else grad / _per_example_norm(grad).clamp(min=1e-12)


def _finite(loss, grad) -> bool:
    return bool(torch.isfinite(loss) and torch.isfinite(grad).all())


def gaussian_noise(embeds: torch.Tensor, mask: torch.Tensor, sigma: float, generator: torch.Generator):
    noise = _randn(generator, embeds.shape).to(embeds)
    return embeds + sigma * noise * mask.unsqueeze(-1).to(embeds.dtype)


def random_start(embeds, mask, eps: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(embeds.dtype)
    if norm == "linf":
        delta = (_rand(generator, embeds.shape).to(embeds) * 2 - 1) * eps
        return delta * m
    direction = _randn(generator, embeds.shape).to(embeds) * m
    radius = _rand(generator, (embeds.shape[0],)).to(embeds) * eps
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
        if not _finite(loss, grad):
            finite = False
            continue
        delta = project(delta + step_size * _ascent_direction(grad, norm) * m, eps, norm) * m
    return base + delta, finite


def freelb_start(embeds, mask, init_mag: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    """FreeLB's initial delta: uniform in [-1, 1] scaled by init_mag / sqrt(L * d) (l2), or
    uniform in [-init_mag, init_mag] (linf); zero on padding; zero when init_mag is 0."""
    m = mask.unsqueeze(-1).to(embeds.dtype)
    uniform = _rand(generator, embeds.shape).to(embeds) * 2 - 1
    if norm == "linf":
        return uniform * init_mag * m
    dims = m.sum((1, 2)) * embeds.shape[-1]
    return uniform * m * (init_mag / dims.clamp(min=1).sqrt()).view(-1, 1, 1)


def freelb(embeds, mask, loss_fn, init_mag: float, step_size: float, steps: int, max_norm: float,
           norm: str, generator: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor], bool]:
    """(mean of the K losses, the K deltas, every step finite).

    The returned mean keeps the graph of all K forward passes, so one backward of it accumulates
    the parameter gradients of every ascent point, each divided by K: FreeLB's K backward calls
    in one (a single backward also keeps multi-process training to one gradient all-reduce).
    """
    m = mask.unsqueeze(-1).to(embeds.dtype)
    base = embeds.detach()
    delta = freelb_start(base, mask, init_mag, norm, generator)
    total, deltas, finite = 0.0, [], True
    for step in range(steps):
        delta.requires_grad_(True)
        loss = loss_fn(base + delta)
        total = total + loss / steps
        deltas.append(delta.detach())
        if step == steps - 1:
            break
        (grad,) = torch.autograd.grad(loss, delta, retain_graph=True)
        delta = delta.detach()
        if not _finite(loss, grad):
            finite = False
            continue
        delta = delta + step_size * _ascent_direction(grad, norm) * m
        if max_norm > 0:
            delta = project(delta, max_norm, norm)
        delta = delta * m
    return total, deltas, finite


def smart(embeds, mask, divergence_fn, clean_scores: torch.Tensor, sigma: float, step_size: float,
          steps: int, norm: str, generator: torch.Generator) -> tuple[torch.Tensor, bool]:
    """SMART's adversarial embeddings (detached) and whether every ascent step was finite.

    `divergence_fn(perturbed_embeds, target_scores) -> scalar`: the divergence of the perturbed
    prediction from the target, here always the clean prediction detached. Each step moves every
    token by `step_size` along its own normalised gradient (per-token inf-norm for linf, as
    mt-dnn's default; per-token l2 otherwise).
    """
    m = mask.unsqueeze(-1).to(embeds.dtype)
    base = embeds.detach()
    target = clean_scores.detach()  # SMART: the clean prediction is a fixed target
    noise = _randn(generator, base.shape).to(base)
    delta = sigma * noise * m
    finite = True
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = divergence_fn(base + delta, target)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = delta.detach()
        if not _finite(loss, grad):
            finite = False
            continue
        size = grad.abs().amax(-1, keepdim=True) if norm == "linf" else grad.norm(dim=-1, keepdim=True)
        # The paper's g / ||g||: mt-dnn adds 1e-6 to the norm, which shrinks the step when the
        # KL gradient at a 1e-5 start is itself that small; a clamp keeps the step at step_size.
        delta = delta + step_size * grad / size.clamp(min=1e-12) * m
    return base + delta, finite
