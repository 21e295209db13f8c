"""Prompt noise: Gaussian noise on the prompt's own parameters at each step, one reading of PTP-RN
(Chen et al. 2023) that third-party summaries give ("random noise on the soft prompt"); the
paper's own RN perturbs the input, in text or embedding space (`gaussian`, `rn-text`).

Each step draws delta ~ N(0, (prompt_sigma * RMS(P))^2) per coordinate for every prompt tensor P
(PEFT's prefix or prompt embedding, its projection MLP, the deep prompt's layer states; never the
head, never the input embeddings), RMS(P) being that tensor's root mean square at this step: the
noise keeps its ratio to the prompt whatever the encoder's width or the prompt's drift. The
perturbed term is the spec's consistency (ce | kl) of the clean batch scored with P + delta, as
PTP's RN term is of the perturbed input; its gradient reaches P through P + delta. The draw is
the step's (perturb.shared_randn): the same on every process and in every --grad-accum chunk.
"""
from __future__ import annotations

import torch

from ..perturb import shared_randn
from . import Knob, Regulariser

PROMPT_SIGMA = Knob("prompt_sigma", float, 0.1, "noise std per coordinate as a fraction of each prompt tensor's RMS",
                    bound="positive")


def noisy_prompt(prompt: dict[str, torch.Tensor], sigma: float, generator) -> dict[str, torch.Tensor]:
    """Each prompt tensor plus Gaussian noise of std sigma x its own RMS (the noise detached)."""
    out = {}
    for name, p in prompt.items():
        rms = p.detach().float().pow(2).mean().sqrt()
        out[name] = p + (sigma * rms * shared_randn(generator, p.shape)).to(p)
    return out


def term(step):
    clean_scores = step.clean_scores()
    perturbed_scores = step.clean_scores(noisy_prompt(step.trained(prompt_only=True), step.spec.prompt_sigma,
                                                      step.generator))
    return clean_scores, step.consistency(clean_scores, perturbed_scores), True


REGULARISER = Regulariser(
    config="PromptNoise", name="prompt-noise", term=term, knobs=(PROMPT_SIGMA,),
    paper="Gaussian noise on the soft prompt's parameters (a third-party reading of PTP-RN)",
    # Untuned: a tenth of the prompt's own scale; the claim protocol sweeps it on validation.
    preset=("rn-prompt", {"embed_noise": "prompt-noise", "prompt_sigma": 0.1}))
