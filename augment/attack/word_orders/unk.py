"""The leave-one-out word order (TextAttack's GreedyWordSwapWIR("unk")): words ranked by how much
replacing each with UNK alone moves the victim away from the gold output; a drop below the goal's
MIN_GAIN counts as none (it is float noise, and would order words by it). One query a word."""
from __future__ import annotations

import numpy as np

from . import WordOrder


def rank(drops: np.ndarray, gains: np.ndarray, min_gain: float) -> list[int]:
    drops = np.where(drops < min_gain, 0.0, drops)
    return list(np.argsort(-drops, kind="stable"))


WORD_ORDER = WordOrder(name="unk", summary="leave-one-out alone, as TextAttack's GreedyWordSwapWIR('unk')",
                       needs_swaps=False, rank=rank)
