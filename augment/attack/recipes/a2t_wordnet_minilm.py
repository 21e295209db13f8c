"""A2T (Yoo & Qi 2021, "Towards Improving Adversarial Training of NLP Models"), rebuilt from parts
that run offline; named `a2t-wordnet-minilm` so that nobody takes it for TextAttack's A2TYoo2021,
whose embeddings and sentence encoder come from hubs that cannot be reached here.

A2T is built to be cheap enough for adversarial training and to keep the example's meaning.
Transformation: swap a word for a WordNet synonym (PWWS's swap, case kept). Constraints, as A2T
has them: the swapped word keeps its part of speech, verbs and nouns not interchangeable
(PartOfSpeech(allow_verb_noun_swap=False)); at most 10% of the words modified, and at least 4 may
be (MaxModificationRate(0.1, min_threshold=4)); the whole partner's sentence embedding within
cosine 0.9 of the original's (SBERT(threshold=0.9, metric="cosine"), no window); no stopword, no
word twice. Search: greedy over words ordered by the drop in the gold probability when the word
is replaced by UNK.

Differences from A2T, each forced by what can be reached offline or by this project's search:
- swaps: WordNet synonyms, not the 20 nearest counter-fitted embedding neighbours; so there is no
  WordEmbeddingDistance(0.8) either (it needs those embeddings). In its place, the check that
  keeps a swap near its word's sense: MiniLM's contextual vector of the new word against the old
  one's in a 10-word window each side, cosine >= 0.4 (augment/sense.py; WordNet's synonyms come
  from every sense of a word, and the whole-text cosine below cannot tell a swap that keeps the
  sense from one that does not, AUC 0.47 on 317 read swaps: docs/label-keeping/sense.md);
- sentence encoder: the packaged all-MiniLM-L6-v2 (a sentence-transformers model like A2T's
  stsb-distilbert-base, but not trained on STS-B), through TextAttack's own SBERT class;
- part of speech: the offline tagger (NLTK's perceptron when its data is there, else the WordNet
  sense-frequency tagger, augment/common/resources.py) mapped to universal tags, not flair's;
- similarity is TextAttack's: SentenceEncoder with no window embeds the text from its first to its
  last word, so trailing punctuation is left out (a final "." can move MiniLM's cosine by 0.05);
- word order: UNK leave-one-out, not A2T's gradient ranking (the victim interface gives
  probabilities, not gradients); TextAttack calls both GreedyWordSwapWIR.
"""
from __future__ import annotations

from ...sense import sense_constraint
from ..similarity import sentence_similarity
from . import Recipe
from .pwws_ren_2019 import transformation

SIMILARITY = 0.9  # A2T's cosine threshold
MAX_RATE, MIN_WORDS = 0.1, 4  # A2T's MaxModificationRate

# Penn tags (the offline taggers') to the universal tags PartOfSpeech compares (NLTK's mapping).
UNIVERSAL = {"NN": "NOUN", "VB": "VERB", "MD": "VERB", "JJ": "ADJ", "RB": "ADV", "PR": "PRON", "DT": "DET",
             "IN": "ADP", "CC": "CONJ", "CD": "NUM", "RP": "PRT", "TO": "PRT", "UH": "X", "FW": "X"}


def part_of_speech():
    from textattack.constraints.grammaticality import PartOfSpeech

    from ...common.resources import use_perceptron_tagger, wordnet_pos_tag

    class OfflinePartOfSpeech(PartOfSpeech):
        """TextAttack's PartOfSpeech (same context window, same comparison) with the offline tagger."""

        def _get_pos(self, before_ctx, word, after_ctx):
            words = before_ctx + [word] + after_ctx
            if use_perceptron_tagger():
                import nltk

                tags = nltk.pos_tag(words)
            else:
                tags = wordnet_pos_tag(words)
            tag = tags[len(before_ctx)][1]
            return UNIVERSAL.get(tag[:2], tag)

    return OfflinePartOfSpeech(allow_verb_noun_swap=False)


def constraints():
    return [part_of_speech(), sense_constraint(), sentence_similarity(SIMILARITY)]


def pre_constraints():
    from textattack.constraints.pre_transformation import MaxModificationRate

    return [MaxModificationRate(max_rate=MAX_RATE, min_threshold=MIN_WORDS)]


def stock(model_wrapper):
    """The same recipe as a TextAttack Attack of TextAttack's own parts (for `ptp-pipeline
    robustness`, which runs TextAttack's Attacker)."""
    from textattack import Attack
    from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR

    return Attack(UntargetedClassification(model_wrapper, model_batch_size=32),
                  [RepeatModification(), StopwordModification(), *pre_constraints(), *constraints()],
                  transformation(), GreedyWordSwapWIR(wir_method="unk"))


RECIPE = Recipe(name="a2t-wordnet-minilm", paper="Yoo & Qi 2021 (offline parts)",
                edits="WordNet synonyms within MiniLM cosine 0.9, same POS, <= 10% of words",
                transformation=transformation, constraints=constraints, word_order="unk", stock=stock,
                pre=pre_constraints)
