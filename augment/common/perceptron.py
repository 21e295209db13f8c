"""NLTK's averaged-perceptron POS tagger, the same tags, about four times faster.

Random mode tags every sentence it perturbs (augment/synonyms.py: tag_in_context), and NLTK's
`AveragedPerceptron.predict` was a third of its time: a Python loop over each feature's weights,
label by label. Here each feature's weights are one dense vector (built on first use), added
feature by feature in NLTK's order; every label's score is then the same sum of the same floats
in the same order, so it is the same number, and the best label (ties broken by the larger label,
as NLTK's `max(classes, key=(score, label))` does) is the same tag. The features are NLTK's
(`features` lists them as `_get_features` builds them). tests/test_random_mode.py
checks tag for tag against `nltk.pos_tag` over thousands of sentences.

`tag(tokens, stop)` also tags only the first `stop` tokens (in the whole sentence's context):
what tag_in_context needs for a sentence's opener. No library offers either: NLTK's tagger has
no batch or vector path, and spaCy's or flair's taggers are other models (other tags).
"""
from __future__ import annotations

import numpy as np


class PerceptronTagger:
    """tokens -> [(token, Penn tag)], as `nltk.pos_tag(tokens)` with NLTK's English perceptron."""

    def __init__(self, nltk_tagger=None):
        if nltk_tagger is None:
            from nltk.tag.perceptron import PerceptronTagger as NLTKTagger

            nltk_tagger = NLTKTagger()
        self.nltk = nltk_tagger
        model = nltk_tagger.model
        self.labels = sorted(model.classes)
        column = {label: i for i, label in enumerate(self.labels)}
        self.row = {feature: i for i, feature in enumerate(model.weights)}
        self.matrix = np.zeros((len(self.row), len(self.labels)))
        for feature, weights in model.weights.items():
            r = self.row[feature]
            for label, weight in weights.items():
                self.matrix[r, column[label]] = weight

    def predict(self, features: list[str]) -> str:
        """The best label for a token's features (each counted once, as NLTK's always are)."""
        rows = [r for r in map(self.row.get, features) if r is not None]
        # Rows added in order (numpy reduces the first axis row by row): NLTK's sums.
        scores = np.add.reduce(self.matrix[rows], axis=0).tolist() if rows else [0.0] * len(self.labels)
        best = max(scores)
        return self.labels[len(scores) - 1 - scores[::-1].index(best)]  # ties: the larger label, as NLTK

    def tag(self, tokens: list[str], stop: int | None = None) -> list[tuple[str, str]]:
        """NLTK's PerceptronTagger.tag (with its tag dictionary), over the first `stop` tokens."""
        nltk = self.nltk
        prev, prev2 = nltk.START
        context = nltk.START + [nltk.normalize(w) for w in tokens] + nltk.END
        output = []
        for i, word in enumerate(tokens[:stop]):
            tag = nltk.tagdict.get(word)
            if not tag:
                tag = self.predict(features(i + len(nltk.START), word, context, prev, prev2))
            output.append((word, tag))
            prev2, prev = prev, tag
        return output

    __call__ = tag


def features(i: int, word: str, context: list[str], prev: str, prev2: str) -> list[str]:
    """NLTK's PerceptronTagger._get_features, in its order, as a list: no two of its names are
    alike, so each feature counts once (`i` already offset by START, as NLTK offsets it)."""
    return ["bias", f"i suffix {word[-3:]}", f"i pref1 {word[0] if word else ''}", f"i-1 tag {prev}",
            f"i-2 tag {prev2}", f"i tag+i-2 tag {prev} {prev2}", f"i word {context[i]}",
            f"i-1 tag+i word {prev} {context[i]}", f"i-1 word {context[i - 1]}", f"i-1 suffix {context[i - 1][-3:]}",
            f"i-2 word {context[i - 2]}", f"i+1 word {context[i + 1]}", f"i+1 suffix {context[i + 1][-3:]}",
            f"i+2 word {context[i + 2]}"]
