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
case pattern of the word it replaces and the lemma's own capitals (`keep_case`). Words no op may
touch reach nlpaug as a placeholder it skips: protected spans (whose offsets then move with the
edits before them), what the rule shared with adversarial mode keeps out (protect.kept_out:
markup, URLs, addresses, names and titles inside a sentence, acronyms) and hyphenated compounds;
the synonym op also skips stopwords, in any case.

The synonym op: a contextual tagger (resources.pos_tagger, at nlpaug's `pos_tag` seam) tags every
word in context; nouns, verbs, adjectives and adverbs with a synonym that fits are drawn; a
synonym fits where it neither is nor holds the word and repeats neither neighbour (`fits`); it
comes from the word's most frequent WordNet senses or from all of them (`--senses`). (The sense
check of the WordNet recipes, augment/sense.py, showed no gain here on fresh text at about 10x
the time: docs/label-keeping/sense.md.) The delete
op never leaves the same word twice in a row (`no_doubled_words`).
A variant identical to its original is retried with the next attempt's seed, then recorded with
`changed = False`.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import random
import re
import string
from dataclasses import asdict, dataclass

import numpy as np

from .common import wordnet_lemmas
from .common.errors import PTPError
from .common.spans import protected_ranges, rewrite_spans
from .protect import PLACEHOLDER, SENTENCE_END, kept_out, new_offence, offensive, words_changed
from .synonyms import fits, frequent_senses, inflect, irregular_forms, letters, tag_in_context, wordnet_pos
from .common.tasks import Task

OPS = ("synonym", "delete")
SENSES = ("frequent", "all")
# 2 (2026-12-04): names, titles and acronyms kept out (protect.kept_out), a contextual tagger,
# synonyms that fit their neighbours and keep their own capitals, no doubled word after a deletion,
# and the sense choice. 3 (2026-12-07, #56): multi-word expressions kept whole (protect.kept_out),
# no swap more than one word longer than its word, no offensive word the text did not have.
# 4 (2026-12-07): words joined by a dash ("crown--rump") are one compound; a list's items are not
# deleted (no "1987,, 1999"). Corpora built before rebuild.
TEXT_VERSION = 4


@dataclass(frozen=True)
class RandomSpec:
    ops: tuple[str, ...] = dataclasses.field(default=OPS, metadata={
        "help": "random: comma list of synonym,delete, applied in that order to each variant"})
    rate: float = dataclasses.field(default=0.1, metadata={"help": "random: fraction of words each op edits"})
    variants: int = dataclasses.field(default=1, metadata={"help": "random: perturbed variants per example"})
    senses: str = dataclasses.field(default="frequent", metadata={
        "help": "random: synonyms from the word's most frequent WordNet senses for its tagged part of "
                "speech (frequent) or from all of them, as nlpaug and EDA do (all); "
                "docs/label-keeping/random.md"})
    retries: int = 3

    def __post_init__(self):
        unknown = [op for op in self.ops if op not in OPS]
        if unknown or not self.ops:
            raise PTPError(f"unknown op(s) {','.join(unknown) or '(none)'}: --ops takes a comma list of {','.join(OPS)}")
        if not 0 < self.rate <= 1:
            raise PTPError(f"--rate {self.rate}: must be a fraction of words in (0, 1]")
        if self.variants < 1:
            raise PTPError(f"--variants {self.variants}: must be at least 1")
        if self.senses not in SENSES:
            raise PTPError(f"--senses {self.senses}: choose one of {', '.join(SENSES)}")

    def to_dict(self) -> dict:
        return {**asdict(self), "ops": list(self.ops), "text_version": TEXT_VERSION}


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
    """A synonym `word` (a WordNet lemma, words joined by spaces) in the case of the word it
    replaces, `reference`: all caps for an all-caps word (two letters or more); for a lowercase or a
    Capitalised word, the lemma's own capitals kept ("Saint Nicholas", "Vivien Leigh") and its other
    letters lower, with the first letter a capital where the reference has one ("Wine cellar");
    any other pattern (McDonald, iPhone) leaves the lemma as it is. TextAttack's recover_word_case
    (textattack.transformations.word_swaps) does the same for one-word lemmas, but lowers a
    lemma's own capitals; written here so that random mode never imports TextAttack."""
    if reference.isupper() and len(reference) > 1:
        return word.upper()
    if reference.islower():
        return word
    if reference[0].isupper() and reference[1:].islower():
        return word[:1].upper() + word[1:]
    return word


# A word joined to the next by a hyphen or a dash: the parts of "anti-war" (and of "crown--rump",
# "4--3", "1914–1918") are one word to a reader, and editing one part leaves "-war" or "whose--rump"
# behind. (TextAttack's words keep their hyphens.)
COMPOUND = re.compile(rf"{WORD.pattern}(?:[-‐‑–—]+{WORD.pattern})+")


def editable_words(text: str, protected) -> list[tuple[int, int, bool]]:
    """(start, end, editable) of every word: not editable inside a protected range, where the rule
    both modes share keeps edits out (protect.kept_out: markup, names, titles, acronyms), or in a
    hyphenated compound."""
    closed = sorted(list(protected) + kept_out(text) + [m.span() for m in COMPOUND.finditer(text)])
    merged: list[list[int]] = []  # the same characters as disjoint ranges, in order
    for start, end in closed:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [start for start, _ in merged]

    def free(start: int, end: int) -> bool:  # overlaps no range: only the last one opening before `end` can
        k = bisect.bisect_left(starts, end) - 1
        return k < 0 or merged[k][1] <= start

    return [(m.start(), m.end(), free(m.start(), m.end())) for m in WORD.finditer(text)]


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


LIST_MARK_BEFORE = re.compile(r"[,;:(.!?]\s*$")
LIST_MARK_AFTER = re.compile(r"\s*[,;:)]")

# The synonym op's token: what nlpaug's skip rules see (the word, or KEEP), the word itself and the
# punctuation after it, for the tagger (POSITION between the three).
PUNCTUATION = re.compile(r"[.,;:!?]+|[()\[\]\"“”]")
@functools.lru_cache(maxsize=None)
def augmenter(op: str, rate: float, senses: str = "frequent"):
    """Built once per process (nlpaug objects are costly to build, cheap to reuse)."""
    from .common.resources import ensure_resources, pos_tagger, stopword_set

    ensure_resources()
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    def words(text):
        return text.split(SEP)

    def joined(tokens):
        return SEP.join(tokens)

    common = dict(aug_p=rate, aug_min=1, aug_max=None, tokenizer=words, reverse_tokenizer=joined)
    if op == "delete":
        class DeleteAug(naw.RandomWordAug):
            def pre_skip_aug(self, tokens, tuple_idx=None):
                """nlpaug's, with its regex (four matches a token) tried only where it can match: on
                the placeholder; every other token is skipped only if it is punctuation."""
                if tuple_idx is None and not any(KEEP in token for token in tokens):
                    return [i for i, token in enumerate(tokens) if token not in string.punctuation]
                return super().pre_skip_aug(tokens, tuple_idx)

        keep = rf"^\s*{KEEP}(?:{POSITION}\d+)?\s*$"
        return DeleteAug(action="delete", stopwords_regex=keep, **common)

    class WordNetModel(nmw.WordNet):
        """nlpaug's WordNet with a cached `predict` that offers lemmas made of words only, from the
        senses `senses` chooses, and the contextual tagger at nlpaug's `pos_tag` seam."""

        pos_tag = staticmethod(pos_tagger())

        @functools.lru_cache(maxsize=100_000)
        def _predict(self, word, pos):
            # nlpaug's predict (every lemma of every synset of the word), or the frequent senses'
            # lemmas, read from WordNet's lemma table (common/wordnet_lemmas.py: the same lemmas).
            synsets = wordnet_lemmas.synsets(word, pos)
            if senses == "frequent":
                synsets = frequent_senses(synsets, word, pos)
            found = [name for lemmas in synsets for name, _ in lemmas]
            bases = {letters(b) for b in [word, *self.model._morphy(word.lower(), pos)]}  # "Movies" -> no "movie"
            return tuple(c.replace("_", " ") for c in found if LEMMA.fullmatch(c) and letters(c) not in bases)

        def predict(self, word, pos=None):
            return list(self._predict(word, pos))

    class SynonymAug(naw.SynonymAug):
        """nlpaug's synonym swap, but: the tagger sees every word (kept ones too) and the
        punctuation between them; only nouns, verbs, adjectives and adverbs are swapped, and only
        words with a synonym that fits (`fits`) are drawn; a lemma keeps its own capitals and
        hyphens (nlpaug lowers them and turns hyphens into spaces)."""

        @classmethod
        def get_model(cls, aug_src, lang, dict_path, force_reload):
            return WordNetModel(lang=lang, is_synonym=True)

        def pre_skip_aug(self, tokens, tuple_idx=None):
            """nlpaug's (punctuation, stopword list, then the stopword regex four ways), decided
            once per distinct token: the regex alternates over every stopword, and most tokens
            are not one of them."""
            return [i for i, token in enumerate(tokens) if not self.skipped(token if tuple_idx is None else token[tuple_idx])]

        @functools.lru_cache(maxsize=100_000)
        def skipped(self, token):
            return not super().pre_skip_aug([token])

        @functools.lru_cache(maxsize=200_000)
        def forms(self, word, tag):
            """The synonyms of `word` tagged `tag`, inflected as it is (once per word and tag)."""
            found = [inflect(c, tag, word, pos) for pos in wordnet_pos(tag) for c in self.model.predict(word, pos=pos)]
            return tuple(c for c in found if c is not None)

        @functools.lru_cache(maxsize=20_000)
        def tags(self, words, after):
            """tag_in_context, once per sentence (a sentence recurs: WiC's sentences are in several pairs)."""
            return tag_in_context(self.model.pos_tag, list(words), [list(a) for a in after])

        def candidates(self, tokens, tags, i, out):
            """The synonyms of word i, inflected as it is, that fit between its neighbours and
            bring no offensive word the text did not have (protect.new_offence)."""
            word = tokens[i][1]
            before = out[i - 1].split()[-1] if i and out[i - 1] else ""
            after = out[i + 1].split()[0] if i + 1 < len(out) and out[i + 1] else ""
            fitting = [c for c in self.forms(word, tags[i]) if fits(c, word, before, after)]
            if any(offensive(w.lower()) for c in fitting for w in c.split()):  # rare: the text decides
                text = " ".join(t[1] for t in tokens)
                fitting = [c for c in fitting if not new_offence(text, c)]
            return fitting

        def substitute(self, data):
            tokens = [t.split(POSITION) for t in self.tokenizer(data)]  # (shown, word, punctuation)
            tags = self.tags(tuple(t[1] for t in tokens), tuple(tuple(t[2].split()) for t in tokens))
            out = [word for _, word, _ in tokens]  # the text's words as the swaps go
            shown = [(t[0], tags[i]) for i, t in enumerate(tokens)]
            skip = set(range(len(tokens))) - set(self.pre_skip_aug(shown, tuple_idx=0))
            drawable = [i for i in range(len(tokens)) if i not in skip and self.candidates(tokens, tags, i, out)]
            count = min(self.generate_aug_cnt(len(tokens)), len(drawable))
            result = [t[0] for t in tokens]
            for i in self.sample(drawable, count) if count else []:
                fitting = self.candidates(tokens, tags, i, out)  # the neighbours may have changed
                if fitting:
                    out[i] = result[i] = self.sample(fitting, 1)[0]
            return self.reverse_tokenizer([r if r != t[0] else SEP_SAME for r, t in zip(result, tokens)])

    # Stopwords are never swapped (as in EDA): WordNet "synonyms" of function words are nouns
    # ("It" -> "Information technology"). Matched in any case: nlpaug's own list compares as is.
    stop = "|".join(re.escape(w) for w in sorted(stopword_set(), key=lambda w: (-len(w), w)))
    return SynonymAug(aug_src="wordnet", stopwords_regex=rf"(?i)^\s*(?:{KEEP}|{stop})\s*$", **common)


SEP_SAME = "\u2062"  # the synonym op's "this word is unchanged"


def prepare(spec: "RandomSpec") -> None:
    """Load what every row needs (the augmenters, the tagger's model, WordNet, its sense counts and
    exception lists) in this process, before a split's workers fork: each then starts with them."""
    from nltk.corpus import wordnet as wn

    for op in spec.ops:
        augmenter(op, spec.rate, spec.senses)
    wn.ensure_loaded()
    wordnet_lemmas.lemma_table()
    irregular_forms("n")
    irregular_forms("v")


def no_doubled_words(words: list[str], editable: list[bool], deleted: set[int], rng: random.Random) -> set[int]:
    """`deleted` (word indices) with every deletion that would leave the same word twice in a row
    (in any case; "come through through") moved to another editable word whose deletion leaves no
    such pair; dropped where there is none. Words already doubled in the text are left as they are."""
    words = [w.lower() for w in words]

    def doubled(gone):
        kept = [i for i in range(len(words)) if i not in gone]
        return [b for a, b in zip(kept, kept[1:]) if b - a > 1 and words[a] == words[b]]

    deleted, moved = set(deleted), 0
    while pairs := doubled(deleted):
        deleted.discard(pairs[0] - 1)  # the deleted word just before the second of the pair stays
        moved += 1
    for _ in range(moved):
        others = [i for i, ok in enumerate(editable) if ok and i not in deleted and not doubled(deleted | {i})]
        if others:
            deleted.add(rng.choice(others))
    return deleted


def opener_capitals(text: str, spans, gone: set[int]) -> list[tuple[int, int, str]]:
    """Where a deletion takes a sentence's Capitalised first word, the word that now opens the
    sentence takes the capital, if it was in lower case and editable ("An exhaustive study" ->
    "Exhaustive study", not "exhaustive study")."""
    edits = []
    for i in sorted(gone):
        start, end = spans[i][:2]
        if not text[start].isupper() or text[start + 1:end].isupper():
            continue
        if SENTENCE_END.search(text[max(0, start - 12):start]) is None:
            continue
        after = next((k for k in range(i + 1, len(spans)) if k not in gone), None)
        if after is not None and spans[after][2] and text[spans[after][0]:spans[after][1]].islower() \
                and all(k in gone for k in range(i, after)):
            s, e = spans[after][:2]
            edits.append((s, e, text[s].upper() + text[s + 1:e]))
    return edits


def apply_ops(text: str, ops, rate: float, seed: int, protected=(), senses: str = "frequent") -> tuple[str, list]:
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
            # A list's item (a word between two of its marks: "1987, 1996, 1999", "(1975, 1987"),
            # or an opener before its comma ("steels. However, copper"), is not deleted: the marks
            # would be left doubled (",,", "(,", ", )", "., ").
            tokens = [KEEP if LIST_MARK_BEFORE.search(text, max(0, s - 3), s) and LIST_MARK_AFTER.match(text, e) else t
                      for t, (s, e, _) in zip(tokens, spans)]
            # Each word carries its position, so the survivors name themselves (an alignment of
            # repeated words could pick the wrong "the"); nlpaug's capitalisation of the word after
            # a deleted first word is ignored: only deleted words change.
            out = augmenter(op, rate, senses).augment(SEP.join(f"{t}{POSITION}{i}" for i, t in enumerate(tokens)))
            kept = {int(t.rsplit(POSITION, 1)[1]) for t in (out[0] if isinstance(out, list) else out).split(SEP)}
            gone = no_doubled_words([text[s:e] for s, e, _ in spans], [ok for *_, ok in spans],
                                    set(range(len(tokens))) - kept, random.Random(seed))
            # Neighbouring deleted words with one space between them go as one block.
            blocks = []
            for i in sorted(gone):
                start, end = spans[i][:2]
                if blocks and text[blocks[-1][1]:start] == " ":
                    blocks[-1][1] = end
                else:
                    blocks.append([start, end])
            edits = [(*deletion(text, start, end), "") for start, end in blocks]
            edits += opener_capitals(text, spans, gone)
        else:
            gaps = [text[spans[i][1]:spans[i + 1][0] if i + 1 < len(spans) else len(text)] for i in range(len(spans))]
            encoded = [f"{t}{POSITION}{text[s:e]}{POSITION}{' '.join(PUNCTUATION.findall(g))}"
                       for t, (s, e, _), g in zip(tokens, spans, gaps)]
            out = augmenter(op, rate, senses).augment(SEP.join(encoded))
            out = (out[0] if isinstance(out, list) else out).split(SEP)  # one token for one word
            edits = [(spans[i][0], spans[i][1], keep_case(new, tokens[i]))
                     for i, new in enumerate(out) if new not in (SEP_SAME, encoded[i])]
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
                                             field_ranges, spec.senses)
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
