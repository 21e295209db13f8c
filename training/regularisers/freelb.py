"""FreeLB (Zhu et al. 2020, "FreeLB", Algorithm 1 and run_glue_freelb.py) on the input embeddings.

Start uniform with magnitude init_mag / sqrt(L * d) (L real tokens, d hidden size), K ascent
steps of size `step_size` along the l2-normalised gradient (or its sign, linf), projected onto
`adv_max_norm` (0: no projection); the parameter gradients of all K points are accumulated, each
loss divided by K ("free" large batch). Departure: that mean is PTP's perturbed term (weighted by
lambda, added to the clean loss); FreeLB itself trains on the perturbed points only.
"""
from __future__ import annotations

import torch

from ..perturb import ascent_direction, finite_step, project, rand
from . import EXAMPLE_L2, NORM, STEP_SIZE, STEPS, Knob, Regulariser


def freelb_start(embeds, mask, init_mag: float, norm: str, generator) -> torch.Tensor:
    """FreeLB's initial delta: uniform in [-1, 1] scaled by init_mag / sqrt(L * d) (l2), or
    uniform in [-init_mag, init_mag] (linf); zero on padding; zero when init_mag is 0."""
    m = mask.unsqueeze(-1).to(embeds.dtype)
    uniform = rand(generator, embeds.shape).to(embeds) * 2 - 1
    if norm == "linf":
        return uniform * init_mag * m
    dims = m.sum((1, 2)) * embeds.shape[-1]
    return uniform * m * (init_mag / dims.clamp(min=1).sqrt()).view(-1, 1, 1)


def freelb(embeds, mask, loss_fn, init_mag: float, step_size: float, steps: int, max_norm: float,
           norm: str, generator) -> tuple[torch.Tensor, list[torch.Tensor], bool]:
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
        if not finite_step(loss, grad):
            finite = False
            continue
        delta = delta + step_size * ascent_direction(grad, norm) * m
        if max_norm > 0:
            delta = project(delta, max_norm, norm)
        delta = delta * m
    return total, deltas, finite


def term(step):
    spec = step.spec
    # The K ascent points' losses keep their graphs; one backward accumulates all of them.
    clean_scores = step.clean_scores()
    mean, _, finite = freelb(step.embeds, step.mask, lambda e: step.consistency(clean_scores, step.view_scores(e)),
                             spec.init_mag, spec.step_size, spec.steps, spec.adv_max_norm, spec.norm, step.generator)
    return clean_scores, mean, finite


REGULARISER = Regulariser(
    config="FreeLB", name="freelb", term=term, knobs=(
        Knob("init_mag", float, 0.0, "initial magnitude", size=EXAMPLE_L2, bound="non-negative"), STEP_SIZE, STEPS,
        # The default is the one from when the max norm was --eps, so runs keep their meaning.
        Knob("adv_max_norm", float, 0.05, "max norm of the perturbation (0: none)", size=EXAMPLE_L2,
             bound="non-negative", stored_as="eps"), NORM),
    paper="FreeLB (Zhu et al. 2020), its mean over K ascent points as PTP's perturbed term",
    # Its GLUE settings are K=2-3, adv-lr 0.1-0.2 (l2), init-mag 0.1-0.6, no max norm, on
    # BERT/RoBERTa embeddings of norm ~1-1.5 per token (MiniLM: ~1.1).
    preset=("freelb", {"embed_noise": "freelb", "steps": 2, "step_size": 0.1, "init_mag": 0.3, "adv_max_norm": 0.0}))
