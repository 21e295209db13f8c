"""Word orders: how the greedy search ranks an example's words before it tries their swaps (the
`wir_method` of TextAttack's GreedyWordSwapWIR). One file each, one record each, one table from
names to records, as recipes are: each module of this package defines one `WORD_ORDER`;
`WORD_ORDERS` collects them in name order and refuses a name twice. A recipe names its order
(`Recipe.word_order`); `--word-order` overrides it. Adding one is adding a module here (and its
test): see docs/extending.md.

The search (`search.Search.rank_words`) measures, for each word it may change, the rise of the
goal's score (1 - p(gold)) when the word is replaced by the victim's UNK token (the leave-one-out
drop) and, when the order `needs_swaps`, the best rise among the word's candidate swaps (the
swap gain). Queries past an example's budget are not sent; their scores count as no change. The
order's `rank` turns those into the order the words are tried in, with ties kept in word order
(a stable sort), and treats a drop or gain below the goal's MIN_GAIN as none where it reads one
as a gain: such changes are float noise (padding a text to its batch's longest moves the
victim's sums in the last digits), and ranking by them would make the corpus depend on how the
rows were batched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...common.registry import collect


@dataclass(frozen=True)
class WordOrder:
    name: str  # the --word-order value, and a recipe's `word_order`
    summary: str  # what it ranks by, in a few words (for --help)
    needs_swaps: bool  # whether `rank` reads the swap gains (one query per candidate swap of every word)
    # (leave-one-out drops, best swap gains (zeros unless needs_swaps), the goal's min_gain), one
    # entry a word -> positions in those arrays, most important first: a permutation of range(len(drops))
    rank: Callable[[np.ndarray, np.ndarray, float], list[int]]


WORD_ORDERS: dict[str, WordOrder] = collect(__name__, __path__, "WORD_ORDER")
