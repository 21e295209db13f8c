"""PWWS's word order (Ren et al. 2019, "probability weighted word saliency"; TextAttack's
GreedyWordSwapWIR("weighted-saliency")): a word's saliency, the softmax over the words of its
leave-one-out drop, times the gain of its best swap. It costs one query per candidate swap of
every word before the search starts. A swap gain below the goal's MIN_GAIN counts as none; the
drops enter the softmax as measured."""
from __future__ import annotations

import numpy as np

from . import WordOrder


def rank(drops: np.ndarray, gains: np.ndarray, min_gain: float) -> list[int]:
    gains = np.where(gains < min_gain, 0.0, gains)
    saliency = np.exp(drops - drops.max())
    saliency /= saliency.sum()
    return list(np.argsort(-(saliency * gains), kind="stable"))


WORD_ORDER = WordOrder(name="weighted-saliency", summary="PWWS's: softmaxed leave-one-out x best swap gain, many queries",
                       needs_swaps=True, rank=rank)
