"""Random text perturbations: WordNet synonym swap and word deletion through nlpaug, seeded per row.

How ops combine: each variant applies the ops in the order given (`synonym,delete`: swap, then
delete), each to every perturbable field, each touching about `rate` of the words (nlpaug's aug_p,
at least one word per field).

Determinism: nlpaug draws from the global `random` and `numpy` generators. Every (row, variant,
attempt, field) reseeds both from a hash of the base seed and those coordinates before calling
nlpaug, so the output depends neither on row order nor on how rows are split across processes.

Protected spans never reach nlpaug: each is replaced by a placeholder word that the augmenters
skip (a stopword regex), and put back afterwards, which also gives its new offsets.
A variant identical to its original is retried with the next attempt's seed, then recorded with
`changed = False`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
import re
from dataclasses import asdict, dataclass

import numpy as np

from .common.errors import PTPError
from .common.spans import protected_ranges, rewrite_spans
from .protect import PLACEHOLDER_REGEX, mask, unmask, words_changed
from .common.tasks import Task

OPS = ("synonym", "delete")


@dataclass(frozen=True)
class RandomSpec:
    ops: tuple[str, ...] = dataclasses.field(default=OPS, metadata={
        "help": "random: comma list of synonym,delete, applied in that order to each variant"})
    rate: float = dataclasses.field(default=0.1, metadata={"help": "random: fraction of words each op edits"})
    variants: int = dataclasses.field(default=1, metadata={"help": "random: perturbed variants per example"})
    retries: int = 3

    def __post_init__(self):
        unknown = [op for op in self.ops if op not in OPS]
        if unknown or not self.ops:
            raise PTPError(f"unknown op(s) {','.join(unknown) or '(none)'}: --ops takes a comma list of {','.join(OPS)}")
        if not 0 < self.rate <= 1:
            raise PTPError(f"--rate {self.rate}: must be a fraction of words in (0, 1]")
        if self.variants < 1:
            raise PTPError(f"--variants {self.variants}: must be at least 1")

    def to_dict(self) -> dict:
        return {**asdict(self), "ops": list(self.ops)}


def row_seed(*parts) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "little")


_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([.,:;?!%)\]}])")
_NO_SPACE_AFTER = re.compile(r"([(\[{]) ")


def tokenize(text: str) -> list[str]:
    """Words (apostrophes kept inside: O'Hare, don't) and punctuation marks."""
    return _TOKEN.findall(text)


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


@functools.lru_cache(maxsize=None)
def augmenter(op: str, rate: float):
    """Built once per process (nlpaug objects are costly to build, cheap to reuse)."""
    from .common.resources import ensure_resources, stopword_set, use_perceptron_tagger, wordnet_pos_tag

    ensure_resources()
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    common = dict(aug_p=rate, aug_min=1, aug_max=None, stopwords_regex=PLACEHOLDER_REGEX,
                  tokenizer=tokenize, reverse_tokenizer=detokenize)
    if op == "delete":
        return naw.RandomWordAug(action="delete", **common)

    class WordNetModel(nmw.WordNet):
        """nlpaug's WordNet with a cached `predict` and, offline, the WordNet-frequency tagger."""

        @functools.lru_cache(maxsize=100_000)
        def _predict(self, word, pos):
            return tuple(super().predict(word, pos=pos))

        def predict(self, word, pos=None):
            return list(self._predict(word, pos))

        if not use_perceptron_tagger():
            pos_tag = staticmethod(wordnet_pos_tag)

    class SynonymAug(naw.SynonymAug):
        @classmethod
        def get_model(cls, aug_src, lang, dict_path, force_reload):
            return WordNetModel(lang=lang, is_synonym=True)

    # Stopwords are never swapped (as in EDA): WordNet "synonyms" of function words are nouns.
    return SynonymAug(aug_src="wordnet", stopwords=sorted(stopword_set()), **common)


def apply_ops(text: str, ops, rate: float, seed: int) -> str:
    for op in ops:
        random.seed(seed)
        np.random.seed(seed)
        out = augmenter(op, rate).augment(text)
        text = out[0] if isinstance(out, list) else out
        seed = row_seed(seed, op)
    return text


def perturb_fields(task: Task, example: dict, edit, seed_parts: tuple, retries: int):
    """Apply `edit(masked_text, seed) -> text` to every perturbable field, protecting spans.

    Returns (perturbed example fields, record) where record has words_changed and changed.
    """
    ranges = protected_ranges(task, example)
    for attempt in range(retries + 1):
        perturbed, changed_words = dict(example), 0
        for field in task.perturbable:
            text = example[field]
            field_ranges = ranges.get(field, [])
            masked, names = mask(text, field_ranges)
            out = edit(masked, row_seed(*seed_parts, attempt, field))
            restored = unmask(out, names, text, field_ranges)
            if restored is None or not restored[0].strip():
                continue  # the edit broke a protected span or emptied the field: keep it as is
            new_text, new_ranges = restored
            if new_text == text:
                continue
            perturbed[field] = new_text
            perturbed.update(rewrite_spans(task, example, field, field_ranges, new_ranges, new_text))
            changed_words += words_changed(text, new_text)
        if changed_words:
            return perturbed, {"words_changed": changed_words, "changed": True, "attempts": attempt + 1}
    return dict(example), {"words_changed": 0, "changed": False, "attempts": retries + 1}


def perturb_example(task: Task, example: dict, spec: RandomSpec, seed: int, row: int, variant: int):
    def edit(masked, s):
        return apply_ops(masked, spec.ops, spec.rate, s)

    perturbed, record = perturb_fields(task, example, edit, (seed, row, variant), spec.retries)
    record.update(ops=list(spec.ops), variant=variant)
    return perturbed, record
