"""Which synonyms fit a word where it stands: its part of speech in context (a contextual tagger
over the sentence, punctuation and clitics split as the Penn Treebank splits them), WordNet's
senses for it (all, or the most frequent by SemCor count), each lemma put in the word's form
(plural, past, -ing), and the lemmas that repeat the word or a neighbour left out. Random mode's
synonym op draws from these (augment/random_ops.py); the rules are written here once.
"""
from __future__ import annotations

import functools
import re

from .protect import shouting

# Penn tags -> the WordNet parts of speech a synonym is looked up in. Other tags (NNP, IN, CD, FW,
# UH, PRP ...) are not swapped: nlpaug maps IN to adjectives ("like" -> "similar") and looks up every
# part of speech for a tag it does not know.
WORDNET_POS = {"N": ("n",), "V": ("v",), "J": ("a", "s"), "R": ("r",)}
NOT_SWAPPED = ("NNP", "NNPS", "JJR", "JJS", "RBR", "RBS")  # proper nouns; comparatives (no inflection here)


# A word with a clitic is two tokens to a Penn Treebank tagger ("do" "n't", "film" "'s").
CLITIC = re.compile(r"(?i)^(.+?)(n['’`]t|['’`](?:s|re|ve|ll|d|m))$")


def tag_in_context(pos_tag, words: list[str], after: list[list[str]]) -> list[str]:
    """Each word's Penn tag from `pos_tag` run over the words, split as the Penn Treebank splits
    them (a clitic apart: the word takes its head's tag), with the punctuation after each word
    (`after[i]`) in between: the context a contextual tagger was trained on. A Capitalised word
    that opens a sentence is tagged twice: in lower case for its part of speech ("Long on twinkly
    eyed close ups" is no name), and as it is, keeping a proper noun's tag (NNP, NNPS), which no
    swap takes: a name that opens a sentence ("Grant goes beyond") is left alone. A shouting text
    is tagged in lower case."""
    if shouting(" ".join(words)):  # all caps reads as proper nouns to the tagger: tag it in lower case
        words = [w.lower() for w in words]
    openers = {i for i, word in enumerate(words) if (i == 0 or any(p[-1] in ".!?" for p in after[i - 1]))
               and word[:1].isupper() and word[1:].islower()}

    def run(lower: bool) -> list[str]:
        sequence, at = [], []
        for i, (word, punctuation) in enumerate(zip(words, after)):
            at.append(len(sequence))
            word = word.lower() if lower and i in openers else word
            clitic = CLITIC.match(word)
            sequence += [*clitic.groups(), *punctuation] if clitic else [word, *punctuation]
        if lower:
            tags = [tag for _, tag in pos_tag(sequence)] if sequence else []
            return [tags[k] for k in at]
        # As it is, only the openers' tags are read: tag up to the last one (in the whole context;
        # a tagger that takes `stop`, as ours do, stops there, and the tags are the same).
        last = at[max(openers)] + 1
        tags = [tag for _, tag in (pos_tag(sequence, last) if pos_tag_stops(pos_tag) else pos_tag(sequence))]
        return [tags[k] if k < last else None for k in at]

    tags = run(lower=True)
    if openers:
        as_is = run(lower=False)
        for i in openers:
            if as_is[i] in ("NNP", "NNPS"):
                tags[i] = as_is[i]
    return tags


def pos_tag_stops(pos_tag) -> bool:
    """Whether a tagger takes `stop` (tags only a sentence's first tokens): ours do, a plain
    `nltk.pos_tag` does not."""
    from .common.perceptron import PerceptronTagger
    from .common.resources import wordnet_pos_tag

    return isinstance(pos_tag, PerceptronTagger) or pos_tag is wordnet_pos_tag


def wordnet_pos(tag: str) -> tuple[str, ...]:
    """The WordNet parts of speech of a Penn tag; none for a proper noun or a comparative."""
    return WORDNET_POS.get(tag[:1], ()) if tag[:2] in ("NN", "VB", "JJ", "RB") and tag not in NOT_SWAPPED else ()


def fits(lemma: str, word: str, before: str, after: str) -> bool:
    """A synonym fits where it neither is the word nor holds it ("romance" -> "romance language",
    "come" -> "come through"), repeats neither neighbour ("Alzheimer's disease" -> "Alzheimer's
    disease disease"), and keeps the word's register: at most one word longer (`short_enough`);
    compared in lower case."""
    parts = [letters(p) for p in lemma.split()]
    return letters(lemma) != letters(word) and not {letters(word), letters(before), letters(after)} & set(parts) \
        and short_enough(lemma, word)


def short_enough(lemma: str, word: str) -> bool:
    """A swap's register: at most one word more than the word it replaces ("film" -> "motion
    picture" may; "bank" -> "depository financial institution" may not). Both modes."""
    return len(lemma.split()) <= len(word.split()) + 1


@functools.lru_cache(maxsize=200_000)
def letters(word: str) -> str:
    """The word's letters and digits, lower case: "Alzheimer's" and "Alzheimers" are one word."""
    return "".join(c for c in word.lower() if c.isalnum())


@functools.lru_cache(maxsize=None)
def irregular_forms(pos: str) -> dict[str, tuple[str, ...]]:
    """Base form -> its inflected forms that WordNet's exception lists (noun.exc, verb.exc) hold."""
    from nltk.corpus import wordnet as wn

    from .common.resources import ensure_resources

    ensure_resources()
    wn.synsets("film")  # loads the exception lists
    out: dict[str, list[str]] = {}
    for form, bases in wn._exception_map[pos].items():
        for base in bases:
            out.setdefault(base, []).append(form)
    return {base: tuple(sorted(forms)) for base, forms in out.items()}


def inflected(base: str, tag: str) -> str | None:
    """`base` (one word) in the form of a Penn tag: NNS plural, VBZ third person, VBD and VBN past,
    VBG -ing; WordNet's exception lists first, then the regular rules. None where the lists hold
    two past forms and the tag cannot choose (took/taken, went/gone: a participle ends in n or ne)."""
    if tag == "NNS":
        forms = irregular_forms("n").get(base)
        if forms:
            return forms[0]
    elif tag in ("VBD", "VBN", "VBG"):
        forms = irregular_forms("v").get(base, ())
        ing = [f for f in forms if f.endswith("ing")]
        past = [f for f in forms if not f.endswith("ing")]
        if tag == "VBG" and ing:
            return ing[0]
        if tag != "VBG" and past:
            if len(past) > 1:
                past = [f for f in past if bool(re.search(r"ne?$", f)) == (tag == "VBN")]
            return past[0] if len(past) == 1 else None
    if tag in ("NNS", "VBZ"):
        if re.search(r"(s|x|z|ch|sh)$", base) or (tag == "VBZ" and re.search(r"[^aeiou]o$", base)):
            return base + "es"
        return base[:-1] + "ies" if re.search(r"[^aeiou]y$", base) else base + "s"
    if tag in ("VBD", "VBN"):
        if base.endswith("e"):
            return base + "d"
        return base[:-1] + "ied" if re.search(r"[^aeiou]y$", base) else base + "ed"
    if tag == "VBG":
        if base.endswith("ie"):
            return base[:-2] + "ying"
        return (base[:-1] if re.search(r"[^aeioy]e$", base) else base) + "ing"
    return base


@functools.lru_cache(maxsize=100_000)
def base_forms(word: str, pos: str) -> tuple[str, ...]:
    """WordNet's base forms of a (lower-case) word (nltk's _morphy), once per word."""
    from nltk.corpus import wordnet as wn

    return tuple(wn._morphy(word, pos))


def inflect(lemma: str, tag: str, word: str, pos: str) -> str | None:
    """A synonym lemma in the form of the word it replaces: a noun's last word, a verb's first
    ("come through" -> "came through"); as it is where the word is in its base form."""
    if tag not in ("NNS", "VBZ", "VBD", "VBN", "VBG") or word.lower() in base_forms(word.lower(), pos)[:1]:
        return lemma
    parts = lemma.split(" ")
    at = -1 if pos == "n" else 0
    form = inflected(parts[at].lower(), tag) if parts[at].islower() else None
    if form is None:
        return None
    parts[at] = form
    return " ".join(parts)


def frequent_senses(synsets: list[list[list]], word: str, pos: str) -> list[list[list]]:
    """The word's most frequent senses (each a synset's [lemma name, SemCor count] pairs, as
    wordnet_lemmas.synsets gives them): those whose count of the word's own lemma is at least half
    the top sense's; the first listed sense (WordNet lists a word's senses by that count) when no
    sense is counted."""
    from nltk.corpus import wordnet as wn

    forms = {word.lower(), *wn._morphy(word.lower(), pos)}
    counts = [max([count for name, count in lemmas if name.lower() in forms] or [0]) for lemmas in synsets]
    top = max(counts, default=0)
    if top == 0:
        return synsets[:1]
    return [lemmas for lemmas, count in zip(synsets, counts) if 2 * count >= top]
