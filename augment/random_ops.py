"""Random text perturbations: WordNet synonym swap and word deletion through nlpaug, seeded per row.

How ops combine: each variant applies the ops in the order given (`synonym,delete`: swap, then
delete), each to every perturbable field, each touching about `rate` of the words (nlpaug's aug_p,
at least one word per field).

Determinism: nlpaug draws from the global `random` and `numpy` generators. Every (row, variant,
attempt, field) reseeds both from a hash of the base seed and those coordinates before calling
nlpaug, so the output depends neither on row order nor on how rows are split across processes.

Edits are made by character offsets: nlpaug sees the text's words only (`WORD`), says which it
swaps or deletes, and exactly those words' characters change (a deleted word takes one space with
it); whitespace, markup, punctuation and every other word stay byte for byte. A swap keeps the
case pattern of the word it replaces (`keep_case`). Words no op may touch reach nlpaug as a
placeholder it skips: protected spans (whose offsets then move with the edits before them) and
the words inside markup, URLs and e-mail addresses; the synonym op also skips stopwords, in any case.
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
from .protect import NOT_PROSE, PLACEHOLDER, words_changed
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


# The words an op may edit: letters and digits, with inner apostrophes (don't, O'Hare, don`t).
WORD = re.compile(r"\w+(?:['’`]\w+)*")
# A synonym is words (WordNet joins them with "_"; hyphens, apostrophes): no "U.S." for "America".
LEMMA = re.compile(r"[^\W_]+(?:[_ '’-][^\W_]+)*")
# nlpaug sees only the words, joined by a character that is neither a word nor whitespace.
SEP = "\u241f"
KEEP = PLACEHOLDER  # stands in, for nlpaug, for a word no op may touch (protected, markup)
POSITION = "\u2063"  # between a word and its position, for the delete op (neither word nor space)


def keep_case(word: str, reference: str) -> str:
    """`word` in the case pattern of `reference`: lower, UPPER (two letters or more), Capitalised
    (a multi-word lemma follows its first word), else as it is. TextAttack's recover_word_case
    (textattack.transformations.word_swaps), written here so that random mode never imports TextAttack."""
    if reference.islower():
        return word.lower()
    if reference.isupper() and len(reference) > 1:
        return word.upper()
    if reference[0].isupper() and reference[1:].islower():
        return word[:1].upper() + word[1:].lower()
    return word


def editable_words(text: str, protected) -> list[tuple[int, int, bool]]:
    """(start, end, editable) of every word: not editable inside a protected range or markup."""
    closed = list(protected) + [m.span() for m in NOT_PROSE.finditer(text)]
    return [(m.start(), m.end(), not any(s < m.end() and m.start() < e for s, e in closed))
            for m in WORD.finditer(text)]


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) range replaced; every other character kept as it is."""
    out, last = [], 0
    for start, end, new in sorted(edits):
        out += [text[last:start], new]
        last = end
    return "".join(out + [text[last:]])


def deletion(text: str, start: int, end: int) -> tuple[int, int]:
    """The range a deleted word takes with it: the word and one space beside it, so that no double
    space is left; other whitespace stays. The space after it, unless the word sits between
    whitespace and two spaces; then (or with no space after it) the space before it."""
    if text[end:end + 1] == " " and (start == 0 or not text[start - 1:start].isspace() or text[end + 1:end + 2] != " "):
        return start, end + 1
    if text[start - 1:start] == " ":
        return start - 1, end
    return start, end


@functools.lru_cache(maxsize=None)
def augmenter(op: str, rate: float):
    """Built once per process (nlpaug objects are costly to build, cheap to reuse)."""
    from .common.resources import ensure_resources, stopword_set, use_perceptron_tagger, wordnet_pos_tag

    ensure_resources()
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    def words(text):
        return text.split(SEP)

    def joined(tokens):
        return SEP.join(tokens)

    keep = rf"^\s*{KEEP}(?:{POSITION}\d+)?\s*$"
    common = dict(aug_p=rate, aug_min=1, aug_max=None, tokenizer=words, reverse_tokenizer=joined)
    if op == "delete":
        return naw.RandomWordAug(action="delete", stopwords_regex=keep, **common)

    class WordNetModel(nmw.WordNet):
        """nlpaug's WordNet with a cached `predict` that offers lemmas made of words only, and,
        offline, the WordNet-frequency tagger."""

        @functools.lru_cache(maxsize=100_000)
        def _predict(self, word, pos):
            return tuple(c for c in super().predict(word, pos=pos) if LEMMA.fullmatch(c))

        def predict(self, word, pos=None):
            return list(self._predict(word, pos))

        if not use_perceptron_tagger():
            pos_tag = staticmethod(wordnet_pos_tag)

    class SynonymAug(naw.SynonymAug):
        @classmethod
        def get_model(cls, aug_src, lang, dict_path, force_reload):
            return WordNetModel(lang=lang, is_synonym=True)

    # Stopwords are never swapped (as in EDA): WordNet "synonyms" of function words are nouns
    # ("It" -> "Information technology"). Matched in any case: nlpaug's own list compares as is.
    stop = "|".join(re.escape(w) for w in sorted(stopword_set(), key=lambda w: (-len(w), w)))
    return SynonymAug(aug_src="wordnet", stopwords_regex=rf"(?i)^\s*(?:{KEEP}|{stop})\s*$", **common)


def apply_ops(text: str, ops, rate: float, seed: int, protected=()) -> tuple[str, list]:
    """`text` after each op in turn, edited in place: only the characters of the words an op
    swapped or deleted change (a deleted word takes one space with it). Returns the text and the
    protected ranges' new offsets."""
    for op in ops:
        spans = editable_words(text, protected)
        tokens = [text[s:e] if ok else KEEP for s, e, ok in spans]
        if not any(ok for *_, ok in spans):
            break
        random.seed(seed)
        np.random.seed(seed)
        if op == "delete":
            # Each word carries its position, so the survivors name themselves (an alignment of
            # repeated words could pick the wrong "the"); nlpaug's capitalisation of the word after
            # a deleted first word is ignored: only deleted words change.
            out = augmenter(op, rate).augment(SEP.join(f"{t}{POSITION}{i}" for i, t in enumerate(tokens)))
            kept = {int(t.rsplit(POSITION, 1)[1]) for t in (out[0] if isinstance(out, list) else out).split(SEP)}
            # Neighbouring deleted words with one space between them go as one block.
            blocks = []
            for i in (i for i in range(len(tokens)) if i not in kept):
                start, end = spans[i][:2]
                if blocks and text[blocks[-1][1]:start] == " ":
                    blocks[-1][1] = end
                else:
                    blocks.append([start, end])
            edits = [(*deletion(text, start, end), "") for start, end in blocks]
        else:
            out = augmenter(op, rate).augment(SEP.join(tokens))
            out = (out[0] if isinstance(out, list) else out).split(SEP)  # one token for one word
            edits = [(spans[i][0], spans[i][1], keep_case(new, tokens[i]))
                     for i, new in enumerate(out) if new != tokens[i]]
        protected = [shifted(r, edits) for r in protected]
        text = splice(text, edits)
        seed = row_seed(seed, op)
    return text, list(protected)


def shifted(span: tuple[int, int], edits) -> tuple[int, int]:
    """A range that no edit overlaps, moved by the edits before it."""
    delta = sum(len(new) - (end - start) for start, end, new in edits if end <= span[0])
    return span[0] + delta, span[1] + delta


def perturb_fields(task: Task, example: dict, spec: "RandomSpec", seed_parts: tuple):
    """The ops on every perturbable field, protected spans left alone and their offsets moved.

    Returns (perturbed example fields, record) where record has words_changed and changed.
    """
    ranges = protected_ranges(task, example)
    for attempt in range(spec.retries + 1):
        perturbed, changed_words = dict(example), 0
        for field in task.perturbable:
            text = example[field]
            field_ranges = ranges.get(field, [])
            new_text, new_ranges = apply_ops(text, spec.ops, spec.rate, row_seed(*seed_parts, attempt, field),
                                             field_ranges)
            if new_text == text or not new_text.strip():
                continue  # nothing edited, or the field emptied: keep it as is
            perturbed[field] = new_text
            perturbed.update(rewrite_spans(task, example, field, field_ranges, new_ranges, new_text))
            changed_words += words_changed(text, new_text)
        if changed_words:
            return perturbed, {"words_changed": changed_words, "changed": True, "attempts": attempt + 1}
    return dict(example), {"words_changed": 0, "changed": False, "attempts": spec.retries + 1}


def perturb_example(task: Task, example: dict, spec: RandomSpec, seed: int, row: int, variant: int):
    perturbed, record = perturb_fields(task, example, spec, (seed, row, variant))
    record.update(ops=list(spec.ops), variant=variant)
    return perturbed, record
