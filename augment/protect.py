"""Protected spans as placeholder words, for every perturbation of stage 1.

Any edit (random or adversarial) sees a text whose protected spans (WiC's target word, WSC's
spans, ReCoRD's entities, a task file's protected words) are each replaced by a placeholder word
that no edit may touch: `mask` before, `unmask` after (which also gives the spans' new offsets).
"""
from __future__ import annotations

import difflib
import functools
import re

PLACEHOLDER = "PTPKEEP"
# Text whose words are not prose: markup, entities, URLs, e-mail addresses, dotted abbreviations
# ("U.S.", "e.g."). No word inside them is edited, in random or adversarial mode.
NOT_PROSE = re.compile(r"<[^<>]*>|&\w+;|(?:https?://|www\.)\S+|\S+@\S+\.\w+|(?<!\w)(?:[^\W\d_]\.){2,}")

# What no edit touches, in random and adversarial mode alike (`kept_out`), besides a task's protected
# spans: the text that is not prose (NOT_PROSE), names and titles, and acronyms.
# - A capitalised word inside a sentence is taken for a name or a title ("Both Grant and Hoult",
#   "Here on Earth", "A Walk to Remember"): WordNet knows many names as common words, and PWWS
#   made "Grant" "Subsidisation", random mode "Jack" "Jackfruit". No offline NER model exists here,
#   and a tagger's NNP also fires on sentence-initial words: a capitalised word that opens a
#   sentence stays editable, unless a name follows it ("Jack Nicholson", "Middle America") or the
#   text has it as a name inside a sentence too. (Random mode also leaves a sentence opener that
#   the tagger calls a proper noun: synonyms.tag_in_context.)
# - A word with two capitals or more is an acronym or an all-caps word, anywhere ("TV" became
#   "GOGGLE BOX", "ABC" "ALPHABET", "SATs" "saturday").
# - A text mostly in capitals (shouting) has no names or acronyms by this rule: its words stay editable.
NAME_WORD = re.compile(r"[^\W\d_][\w'’-]*")  # a letter, then letters, apostrophes, hyphens ("Jean-Luc")
SMALL_WORD_GAP = set("abcdefghijklmnopqrstuvwxyz ")
SENTENCE_END = re.compile(r"(?:^|(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bJr)[.!?:;][\"'”’)\]]?)\s*[\"'“‘(\[]?\s*$")


def shouting(text: str) -> bool:
    """More than half of the text's letters are capitals."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > len(letters) / 2


def acronym(word: str) -> bool:
    """Two capitals or more: "TV", "SATs", "NOT", "McDonald"."""
    return sum(c.isupper() for c in word) >= 2


def names_and_acronyms(text: str) -> list[tuple[int, int]]:
    """Spans of capitalised words that do not open a sentence, of a capitalised word that opens
    one right before such a name ("Jack Nicholson", "Being John Malkovich") or that is such a
    name elsewhere in the text, of a title's small words, and of acronyms anywhere; none in a
    shouting text."""
    if shouting(text):
        return []
    words = list(NAME_WORD.finditer(text))
    capital = [m.group()[0].isupper() and m.group() != "I" for m in words]
    # Whether a capitalised word opens a sentence (only a capitalised word's is ever read).
    opens = [up and SENTENCE_END.search(text[max(0, m.start() - 12):m.start()]) is not None
             for m, up in zip(words, capital)]
    kept = [acronym(m.group()) or (up and not first) for m, up, first in zip(words, capital, opens)]
    # A capitalised word (one that opens a sentence too) right before a kept one, or before one with
    # one to three short lower-case words between (a title's: "A Walk to Remember", "About a Boy"),
    # spaces only, goes with it, and so do those words: "Jack Nicholson", "Being John Malkovich".
    for i in range(len(words)):
        if not capital[i]:
            continue
        j = next((j for j in range(i + 1, min(i + 5, len(words))) if capital[j]), None)
        if j is None or not kept[j] or not set(text[words[i].end():words[j].start()]) <= SMALL_WORD_GAP:
            continue
        if all(len(words[k].group()) <= 4 for k in range(i + 1, j)):
            for k in range(i, j):
                kept[k] = True
    # A sentence opener that the text also has as a name inside a sentence ("Grant goes beyond ...
    # unlike Grant's last film").
    names = {m.group() for m, up, first, keep in zip(words, capital, opens, kept) if up and keep and not first}
    kept = [keep or (up and m.group() in names) for m, up, keep in zip(words, capital, kept)]
    return [m.span() for m, keep in zip(words, kept) if keep]


def kept_out(text: str) -> list[tuple[int, int]]:
    """The one rule for what no edit touches, in random and adversarial mode: the stretches that
    are not prose (markup, entities, URLs, addresses, dotted abbreviations), names and titles
    inside a sentence, acronyms and all-caps words, and multi-word expressions (a phrasal verb or
    a WordNet collocation is swapped as a unit or not at all: here, not at all). Sorted character
    ranges, possibly overlapping."""
    return list(_kept_out(text))


@functools.lru_cache(maxsize=20_000)
def _kept_out(text: str) -> tuple[tuple[int, int], ...]:  # once per text: a text recurs (WiC's sentences)
    return tuple(sorted([m.span() for m in NOT_PROSE.finditer(text)] + names_and_acronyms(text)
                        + multiword_expressions(text)))


# Two or three words in a row, spaces only, that WordNet lists as one lemma: "hold up", "take
# place", "look forward", "motion picture". Swapping one word splits them ("hold up" -> "clasp up",
# PWWS on a review; "takes place" -> "conducts", random mode), so neither mode edits a word of one.
PLAIN_WORD = re.compile(r"[A-Za-z]+")


def multiword_expressions(text: str) -> list[tuple[int, int]]:
    words = list(PLAIN_WORD.finditer(text))
    spans = []
    for i in range(len(words)):
        for n in (3, 2):
            run = words[i:i + n]
            if len(run) == n and all(text[a.end():b.start()] == " " for a, b in zip(run, run[1:])) \
                    and is_collocation(tuple(w.group().lower() for w in run)):
                spans.append((run[0].start(), run[-1].end()))
                break
    return spans


@functools.lru_cache(maxsize=100_000)
def is_collocation(words: tuple[str, ...]) -> bool:
    """Whether WordNet has the words as one lemma, the first in any of its base forms (a verb's:
    "held up" -> hold_up) or the last (a noun's: "motion pictures" -> motion_picture)."""
    from nltk.corpus import wordnet as wn

    from .common.resources import ensure_resources

    ensure_resources()
    index = wn._lemma_pos_offset_map
    firsts = {words[0], *wn._morphy(words[0], "v")}
    lasts = {words[-1], *wn._morphy(words[-1], "n")}
    return any("_".join((first, *words[1:-1], last)) in index for first in firsts for last in lasts)


@functools.lru_cache(maxsize=100_000)
def offensive(word: str) -> bool:
    """An offensive or vulgar word, by better-profanity's list (over-inclusive: it lists "kill" and
    "hell" too, which costs only a candidate swap, since the rule below only refuses)."""
    from better_profanity import profanity

    if not profanity.CENSOR_WORDSET:
        profanity.load_censor_words()
    return profanity.contains_profanity(word)


def new_offence(original: str, replacement: str) -> bool:
    """Whether `replacement` (a swap's words) holds an offensive word that `original` (the text
    it goes into) does not: a partner may hold one only where its original did ("the
    consequences of love" -> "the consequences of fuck", PWWS on a review)."""
    had = {w.lower() for w in PLAIN_WORD.findall(original)}
    return any(offensive(w.lower()) and w.lower() not in had for w in PLAIN_WORD.findall(replacement))


def names_inside_sentences(text: str) -> list[tuple[int, int]]:
    """Adversarial mode's call site (augment/attack/search.py) for the shared rule, `kept_out`."""
    return kept_out(text)


def respace(original: str, edited: str, ranges=()) -> tuple[str, list[tuple[int, int]]]:
    """`edited` with the original's whitespace wherever their words agree, and `ranges` (character
    ranges of `edited`) moved with it. The adversarial search works on single-spaced text; a partner
    should differ from its original only in the words it swapped (double spaces, newlines and a
    trailing newline kept, as random mode keeps them). Every word of `edited` is kept verbatim and in
    order: only the whitespace between words is chosen, from the original where a word is matched
    (equal, or swapped word for word), else one space."""
    a = list(re.finditer(r"\S+", original))
    b = list(re.finditer(r"\S+", edited))
    if not a or not b:
        return edited, list(ranges)

    def before(i):  # the original's whitespace before its word i
        return original[:a[0].start()] if i == 0 else original[a[i - 1].end():a[i].start()]

    seps = [" "] * len(b)
    matcher = difflib.SequenceMatcher(a=[m.group() for m in a], b=[m.group() for m in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(j2 - j1):
                seps[j1 + k] = before(i1 + k)
        elif tag != "delete" and i1 < len(a):
            seps[j1] = before(i1)
    seps[0] = original[:a[0].start()]
    out, starts, length = [], [], 0
    for sep, m in zip(seps, b):
        out += [sep, m.group()]
        starts.append(length + len(sep))
        length += len(sep) + len(m.group())
    out.append(original[a[-1].end():])

    def moved(pos: int, end: bool) -> int:  # a range's ends stay on the words they touch
        if end:
            j = max([j for j, m in enumerate(b) if m.start() < pos] or [0])
            return starts[j] + min(pos, b[j].end()) - b[j].start()
        j = min([j for j, m in enumerate(b) if m.end() > pos] or [len(b) - 1])
        return starts[j] + max(pos - b[j].start(), 0)
    return "".join(out), [(moved(s, False), moved(e, True)) for s, e in ranges]


def placeholder(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return PLACEHOLDER + letters


def mask(text: str, ranges) -> tuple[str, list[str]]:
    """Replace each protected range by a placeholder word (padded with spaces)."""
    out, last, names = [], 0, []
    for i, (start, end) in enumerate(ranges):
        names.append(placeholder(i))
        out += [text[last:start], f" {names[-1]} "]
        last = end
    out.append(text[last:])
    return "".join(out), names


def unmask(masked: str, names: list[str], text: str, ranges) -> tuple[str, list] | None:
    """Put the protected texts back, spaced as in the original; None if an edit lost one."""
    parts, rest = [], masked
    for name in names:
        if rest.count(name) != 1:
            return None
        before, rest = rest.split(name, 1)
        parts.append(before.strip())
    parts.append(rest.strip())
    if any(PLACEHOLDER in part for part in parts):
        return None
    out, new_ranges = parts[0], []
    for i, (start, end) in enumerate(ranges):
        if out and text[start - 1:start].isspace():
            out += " "
        new_ranges.append((len(out), len(out) + end - start))
        out += text[start:end]
        if parts[i + 1] and text[end:end + 1].isspace():
            out += " "
        out += parts[i + 1]
    return out, new_ranges


def words_changed(before: str, after: str) -> int:
    """How many of the original words were replaced or deleted (difflib over whitespace words)."""
    a, b = before.split(), after.split()
    kept = sum(block.size for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks())
    return max(len(a) - kept, len(b) - kept)


def protected_spans_constraint():
    """A TextAttack pre-transformation constraint: placeholder words are never modifiable (built on
    call, so that random mode never imports TextAttack)."""
    from textattack.constraints.pre_transformation_constraint import PreTransformationConstraint

    class ProtectedSpans(PreTransformationConstraint):
        """Placeholder words stand for protected spans: never modifiable."""

        def _get_modifiable_indices(self, current_text):
            return {i for i, w in enumerate(current_text.words) if not w.startswith(PLACEHOLDER)}

    return ProtectedSpans()
