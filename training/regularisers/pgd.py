"""PGD on the input embeddings (Madry et al. 2018, as FreeLB's and SMART's baselines use it): a
random start inside the eps-ball, K ascent steps of size `step_size` on the perturbed loss, each
followed by projection onto the ball; only the last point is trained on."""
from __future__ import annotations

import torch

from augment.common.errors import PTPError

from ..perturb import ascent_direction, finite_step, per_example_norm, project, rand, randn
from . import EXAMPLE_L2, NORM, STEP_SIZE, STEPS, Knob, Regulariser

EPS = Knob("eps", float, 0.05, "radius of the ball", size=EXAMPLE_L2, bound="non-negative")


def random_start(embeds, mask, eps: float, norm: str, generator) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(embeds.dtype)
    if norm == "linf":
        delta = (rand(generator, embeds.shape).to(embeds) * 2 - 1) * eps
        return delta * m
    direction = randn(generator, embeds.shape).to(embeds) * m
    radius = rand(generator, (embeds.shape[0],)).to(embeds) * eps
    return direction / per_example_norm(direction).clamp(min=1e-12) * radius.view(-1, 1, 1)


def pgd(embeds, mask, loss_fn, eps: float, step_size: float, steps: int, norm: str,
        generator) -> tuple[torch.Tensor, bool]:
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
        if not finite_step(loss, grad):
            finite = False
            continue
        delta = project(delta + step_size * ascent_direction(grad, norm) * m, eps, norm) * m
    return base + delta, finite


def term(step):
    spec = step.spec
    # With a KL term the ascent moves away from the clean prediction, held fixed.
    target = step.clean_target() if spec.consistency == "kl" else None
    adversarial, finite = pgd(step.embeds, step.mask, lambda e: step.consistency(target, step.view_scores(e)),
                              spec.eps, spec.step_size, spec.steps, spec.norm, step.generator)
    clean_scores, perturbed_scores = step.both(adversarial)
    return clean_scores, step.consistency(clean_scores, perturbed_scores), finite


def check(spec) -> None:
    if spec.eps == 0:
        raise PTPError("--eps 0: PGD needs a positive radius")


REGULARISER = Regulariser(
    config="PGD", name="pgd", term=term, knobs=(EPS, STEP_SIZE, STEPS, NORM),
    paper="PGD (Madry et al. 2018) on input embeddings; PTP-ADV in embedding space",
    # One PGD step on the input embeddings, l2 radius 0.1 per example (an example of ~30 MiniLM
    # tokens has norm ~6). A radius of 0.5 took WordNet-WiC to 53-57% (docs/results-before-protocol.md).
    preset=("adv-embed", {"embed_noise": "pgd", "eps": 0.1, "step_size": 0.1}),
    check=check)
