"""PWWS (Ren et al. 2019, "Generating Natural Language Adversarial Examples through Probability
Weighted Word Saliency"), as TextAttack's PWWSRen2019.

Transformation: swap a word for a WordNet synonym. Constraints: none of its own (the paper has
no semantic constraint; every recipe here adds no-repeat, no-stopword, protected spans and
--max-change). Search: greedy over words ordered by weighted saliency, the softmaxed drop in the
gold probability when the word is replaced by UNK times the best synonym's gain
(GreedyWordSwapWIR("weighted-saliency")).

Departures: a synonym takes the case pattern of the word it replaces (TextAttack's own
`recover_word_case`, which its embedding and masked-LM swaps use and WordSwapWordNet does not):
"BEAST" becomes "WILDCAT", not "wildcat"; a synonym that differs only in case, or is one of the
word's own base forms ("hours" -> "hour"), is no candidate;
and one more than a word longer than its word is none either (the register rule random mode
shares, synonyms.short_enough: "bank" does not become "depository financial institution"); and
a swap keeps its word's sense in context (augment/sense.py: PWWS's synonyms come from every
sense of the word, so on movie reviews "plot"
became "patch" and "boring" "drilling").
"""
from __future__ import annotations

from ...sense import sense_constraint
from . import Recipe


def transformation():
    from textattack.transformations import WordSwapWordNet
    from textattack.transformations.word_swaps.word_swap_masked_lm import recover_word_case

    class CaseKeepingWordSwapWordNet(WordSwapWordNet):
        def _get_replacement_words(self, word, random=False):
            from nltk.corpus import wordnet as wn

            from ...synonyms import short_enough

            # The word's own base forms are no swap ("hours" -> "hour", "detected" -> "detect"):
            # WordNet lists them among the lemmas of the word's synsets, as random mode finds too.
            own = {word.lower(), *(base for pos in "nvar" for base in wn._morphy(word.lower(), pos))}
            out = {recover_word_case(w, word) for w in super()._get_replacement_words(word, random)}
            return sorted(w for w in out if w.lower() not in own and short_enough(w, word))

    return CaseKeepingWordSwapWordNet()


RECIPE = Recipe(name="pwws", paper="Ren et al. 2019", edits="WordNet synonyms", transformation=transformation,
                constraints=lambda: [sense_constraint()], word_order="weighted-saliency", stock="PWWSRen2019")
