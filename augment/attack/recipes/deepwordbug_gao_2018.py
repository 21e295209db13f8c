"""DeepWordBug (Gao et al. 2018, "Black-box Generation of Adversarial Text Sequences to Evade Deep
Learning Classifiers"), as TextAttack's DeepWordBugGao2018.

Transformation: one character edit in a word: swap two neighbouring characters, substitute,
delete or insert one. Constraint: Levenshtein edit distance at most 30 from the original.
Search: greedy over words ordered by the drop in the gold probability when the word is replaced
by UNK (GreedyWordSwapWIR("unk")). The random character draws are seeded by row and word position
here (search.seeded), so an edit is a fixed function of them.
"""
from __future__ import annotations

from . import Recipe


def transformation():
    from textattack.transformations import (CompositeTransformation, WordSwapNeighboringCharacterSwap,
                                            WordSwapRandomCharacterDeletion, WordSwapRandomCharacterInsertion,
                                            WordSwapRandomCharacterSubstitution)

    return CompositeTransformation([
        WordSwapNeighboringCharacterSwap(), WordSwapRandomCharacterSubstitution(),
        WordSwapRandomCharacterDeletion(), WordSwapRandomCharacterInsertion()])


def constraints():
    from textattack.constraints.overlap import LevenshteinEditDistance

    return [LevenshteinEditDistance(30)]


RECIPE = Recipe(name="deepwordbug", paper="Gao et al. 2018", edits="character edits", transformation=transformation,
                constraints=constraints, word_order="unk", stock="DeepWordBugGao2018")
