"""What the embedding-space regularisers (training/regularisers/) share: row-keyed random draws,
norms, projection onto a ball and the ascent direction.

Written by hand because no maintained library offers perturbations on a PEFT model's input
embeddings. All randomness comes from an explicit torch.Generator, or a RowNoise (the trainer's).
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

    def shared_randn(self, shape) -> torch.Tensor:
        """A draw of the step, not of a row: the same numbers on every process and in every chunk
        of the step's batch (for noise on the shared parameters, such as the prompt)."""
        self.draws += 1
        key = ((self.seed * 1_000_003 + self.step) * 1_000_003 + self.draws) * 1_000_003 - 1
        generator = torch.Generator(device=self.device).manual_seed(key % (2 ** 63))
        return torch.randn(tuple(shape), generator=generator, device=self.device)


def randn(generator, shape) -> torch.Tensor:
    if isinstance(generator, RowNoise):
        return generator.randn(shape)
    return torch.randn(shape, generator=generator, device=generator.device)


def shared_randn(generator, shape) -> torch.Tensor:
    """Normal draws for the whole step (RowNoise.shared_randn), or from a plain generator."""
    if isinstance(generator, RowNoise):
        return generator.shared_randn(shape)
    return torch.randn(shape, generator=generator, device=generator.device)


def rand(generator, shape) -> torch.Tensor:
    if isinstance(generator, RowNoise):
        return generator.rand(shape)
    return torch.rand(shape, generator=generator, device=generator.device)


def per_example_norm(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))


def project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / per_example_norm(delta).clamp(min=1e-12)).clamp(max=1.0)
    return delta * scale


def ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """Steepest ascent for a step of unit size: the sign (linf) or the l2-normalised gradient."""
    return grad.sign() if norm == "linf" else grad / per_example_norm(grad).clamp(min=1e-12)


def finite_step(loss, grad) -> bool:
    return bool(torch.isfinite(loss) and torch.isfinite(grad).all())
