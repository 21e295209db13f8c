"""SAM, sharpness-aware minimisation (Foret et al. 2021, "Sharpness-Aware Minimization for
Efficiently Improving Generalization", Algorithm 1), over the trained parameters: the prompt and
the head.

For the batch's loss L at weights w: take its gradient g = grad L(w), step up to the point
w + e(w), e(w) = rho * g / ||g||_2 (the first-order solution of the inner maximisation over the
l2 ball of radius rho, the paper's p = 2), and train on the gradient of L taken there,
grad L(w + e(w)), applied at w (the second-order term of d e/d w dropped, as the paper does).
PTP's premise is a sharp loss landscape; SAM attacks it in parameter space directly, where PTP
perturbs inputs. The PTP paper has no such baseline.

Departures: the perturbed point is formed without writing into the weights (torch.func's
functional_call with w + e), so the gradient reaches w directly and nothing needs restoring; and
each chunk of --grad-accum, and each process, takes its ascent from its own rows' gradient (the
paper's m-sharpness, which its multi-accelerator runs use). Its loss at w + e is the whole
objective: the clean loss at w is not added, `--consistency` is not read, and `--lambda 0` turns
SAM off. Dropout draws a new mask for each of the two forwards (the paper's implementations do too).
"""
from __future__ import annotations

import torch

from . import Knob, Regulariser

RHO = Knob("rho", float, 0.05, "radius of the ascent step in parameter space (l2 over prompt and head)",
           bound="positive")


def ascent(loss: torch.Tensor, parameters: dict[str, torch.Tensor], rho: float) -> tuple[dict, bool]:
    """SAM's e(w) = rho * g / ||g|| for each parameter (detached), and whether g was finite."""
    grads = torch.autograd.grad(loss, list(parameters.values()), allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(parameters.values(), grads)]
    norm = torch.stack([g.float().norm() for g in grads]).norm()
    finite = bool(torch.isfinite(loss) and torch.isfinite(norm))
    scale = rho / norm.clamp(min=1e-12) if finite else 0.0
    return {n: (g * scale).to(p.dtype) for (n, p), g in zip(parameters.items(), grads)}, finite


def term(step):
    parameters = step.trained()
    clean_scores = step.clean_scores()
    e, finite = ascent(step.task_loss(clean_scores), parameters, step.spec.rho)
    perturbed_scores = step.clean_scores({n: p + e[n] for n, p in parameters.items()})
    return clean_scores.detach(), step.task_loss(perturbed_scores), finite


REGULARISER = Regulariser(
    config="SAM", name="sam", term=term, knobs=(RHO,), adds_clean_loss=False, reads_consistency=False,
    paper="SAM (Foret et al. 2021) over the prompt and the head; not in the PTP paper",
    # rho 0.05 is the paper's default (its CIFAR and ImageNet runs swept 0.01-0.5).
    preset=("sam", {"embed_noise": "sam", "rho": 0.05}))
