"""SMART (Jiang et al. 2020, "SMART", Algorithm 1; mt-dnn's SmartPerturbation) on the input embeddings.

Start at x + N(0, start_std^2) (1e-5 there), ascend the KL divergence to the clean prediction,
which is *detached* (a fixed target), by `step_size` along the gradient normalised per token (its
inf-norm, the paper's default; or l2); the regulariser is then the symmetric KL in which each
side's target is detached (mt-dnn's SymKlCriterion), `smart_kl`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from augment.common.errors import PTPError

from ..perturb import finite_step, randn
from . import NORM, PER_COORDINATE, STEP_SIZE, STEPS, Knob, Regulariser


def smart(embeds, mask, divergence_fn, clean_scores: torch.Tensor, start_std: float, step_size: float,
          steps: int, norm: str, generator) -> tuple[torch.Tensor, bool]:
    """SMART's adversarial embeddings (detached) and whether every ascent step was finite.

    `divergence_fn(perturbed_embeds, target_scores) -> scalar`: the divergence of the perturbed
    prediction from the target, here always the clean prediction detached. Each step moves every
    token by `step_size` along its own normalised gradient (per-token inf-norm for linf, as
    mt-dnn's default; per-token l2 otherwise).
    """
    m = mask.unsqueeze(-1).to(embeds.dtype)
    base = embeds.detach()
    target = clean_scores.detach()  # SMART: the clean prediction is a fixed target
    noise = randn(generator, base.shape).to(base)
    delta = start_std * noise * m
    finite = True
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = divergence_fn(base + delta, target)
        (grad,) = torch.autograd.grad(loss, delta)
        delta = delta.detach()
        if not finite_step(loss, grad):
            finite = False
            continue
        size = grad.abs().amax(-1, keepdim=True) if norm == "linf" else grad.norm(dim=-1, keepdim=True)
        # The paper's g / ||g||: mt-dnn adds 1e-6 to the norm, which shrinks the step when the
        # KL gradient at a 1e-5 start is itself that small; a clamp keeps the step at step_size.
        delta = delta + step_size * grad / size.clamp(min=1e-12) * m
    return base + delta, finite


def smart_kl(clean_scores: torch.Tensor, perturbed_scores: torch.Tensor) -> torch.Tensor:
    """SMART's regulariser (mt-dnn SymKlCriterion): KL(sg(p_clean) || p_adv) + KL(sg(p_adv) || p_clean),
    each direction with its target distribution detached, summed (not averaged) as there."""
    clean, adv = clean_scores.float(), perturbed_scores.float()
    return (F.kl_div(F.log_softmax(adv, -1), F.softmax(clean.detach(), -1), reduction="batchmean")
            + F.kl_div(F.log_softmax(clean, -1), F.softmax(adv.detach(), -1), reduction="batchmean"))


def kl_from_target(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(softmax(target) || softmax(scores)): SMART's ascent objective, `target` already detached."""
    return F.kl_div(F.log_softmax(scores.float(), -1), F.softmax(target.float(), -1), reduction="batchmean")


def term(step):
    spec = step.spec
    adversarial, finite = smart(step.embeds, step.mask, lambda e, t: kl_from_target(step.view_scores(e), t),
                                step.clean_target(), spec.start_std, spec.step_size, spec.steps, spec.norm,
                                step.generator)
    clean_scores, perturbed_scores = step.both(adversarial)
    return clean_scores, smart_kl(clean_scores, perturbed_scores), finite


def check(spec) -> None:
    if spec.consistency != "kl":
        raise PTPError("--embed-noise smart: SMART's regulariser is a symmetric KL; pass --consistency kl")


REGULARISER = Regulariser(
    config="SMART", name="smart", term=term, knobs=(
        # The default is the one from when the start was --sigma, so runs keep their meaning.
        Knob("start_std", float, 0.01, "std of the random start", size=PER_COORDINATE, bound="positive",
             stored_as="sigma"), STEP_SIZE, STEPS, NORM),
    paper="SMART (Jiang et al. 2020), smoothness-inducing adversarial regulariser",
    # Noise std 1e-5, one step of 1e-3 normalised by the inf-norm, symmetric KL to the clean
    # prediction (lambda_s 1 in mt-dnn's examples).
    preset=("smart", {"embed_noise": "smart", "consistency": "kl", "start_std": 1e-5, "step_size": 1e-3,
                      "steps": 1, "norm": "linf"}),
    check=check)
