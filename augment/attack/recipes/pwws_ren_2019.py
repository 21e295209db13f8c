"""PWWS (Ren et al. 2019, "Generating Natural Language Adversarial Examples through Probability
Weighted Word Saliency"), as TextAttack's PWWSRen2019.

Transformation: swap a word for a WordNet synonym. Constraints: none of its own (the paper has
no semantic constraint; every recipe here adds no-repeat, no-stopword, protected spans and
--max-change). Search: greedy over words ordered by weighted saliency, the softmaxed drop in the
gold probability when the word is replaced by UNK times the best synonym's gain
(GreedyWordSwapWIR("weighted-saliency")).
"""
from __future__ import annotations

from . import Recipe


def transformation():
    from textattack.transformations import WordSwapWordNet

    return WordSwapWordNet()


RECIPE = Recipe(name="pwws", paper="Ren et al. 2019", edits="WordNet synonyms", transformation=transformation,
                constraints=lambda: [], word_order="weighted-saliency", stock="PWWSRen2019")
