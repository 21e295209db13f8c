"""Random partners that read right (#45): names, titles and acronyms kept out in both modes by one
rule, multi-word synonyms that fit their neighbours and keep case, no doubled word after a deletion,
a contextual tagger offline, and the sense choice."""
import difflib
import re

import pytest

from augment.common.tasks import get_task
from augment.protect import kept_out, multiword_expressions, names_inside_sentences
from augment.random_ops import WORD, RandomSpec, apply_ops, keep_case, no_doubled_words, perturb_example
from augment.synonyms import fits

# Messy reviews as users paste them: markup, entities, names and titles inside sentences, acronyms,
# sentence-opening names, multi-word lemmas waiting to happen, long passages.
REVIEWS = [
    "Being John Malkovich is a film I loved. Jack Nicholson and Alexander Payne made About Schmidt, and "
    "Hugh Grant was there too.<br /><br />Ice Cube plays a cop in a TV movie that ABC aired after the SATs.",
    "Middle America will come through this, says the writer-director Adam in A Walk to Remember; "
    "it may sound odd, but the romance works &amp; the film is a moving portrait of Alzheimer's disease.",
    "I watched it on DVD. <i>The Notebook</i> by Nicholas Sparks is better: Leigh plays a woman who "
    "loses her memory, and the U.S. release cut ten minutes. Great acting, weak plot, lovely music!",
    "Honestly? The first hour drags and drags, then the last twenty minutes come alive. Director Ang Lee "
    "keeps the camera still; the cast (Tobey Maguire, Jewel) never quite convinces. 5/10 at best.\n\n"
    "My wife liked it more than I did, and the kids fell asleep halfway through the second act.",
    "WHAT A WASTE OF TIME. THE WORST FILM I HAVE SEEN THIS YEAR, AND THE ACTING IS TERRIBLE!!!",
]


def _words(text):
    return [(m.group(), m.span()) for m in WORD.finditer(text)]


def _kept_words_lost(before: str, after: str) -> int:
    """How many of the original's kept-out words (protect.kept_out) the partner does not hold, in
    order (the longest common subsequence with the partner's words)."""
    closed = kept_out(before)
    kept = [w for w, (s, e) in _words(before) if any(s < e2 and s2 < e for s2, e2 in closed)]
    matcher = difflib.SequenceMatcher(a=kept, b=[w for w, _ in _words(after)], autojunk=False)
    return len(kept) - sum(block.size for block in matcher.get_matching_blocks())


def _new_doubles(before: str, after: str) -> list[str]:
    """Words that stand twice in a row (any case, only whitespace between) in the partner more often
    than in the original."""
    def doubles(text):
        return [m.group(1).lower() for m in re.finditer(r"\b(\w+)\s+(?=(\w+)\b)", text) if m.group(1).lower() == m.group(2).lower()]
    out = doubles(after)
    for d in doubles(before):
        if d in out:
            out.remove(d)
    return out


def audit(texts, ops, rate=0.15, seed=0):
    """(partners changed, edits of kept-out words, new doubled words, swaps whose case does not
    follow the original) over `texts`, one partner each."""
    task = get_task("sentiment")
    changed = kept = doubled = case = 0
    for row, text in enumerate(texts):
        p, _ = perturb_example(task, {"text": text, "label": 0, "idx": row}, RandomSpec(ops=ops, rate=rate),
                               seed=seed, row=row, variant=0)
        after = p["text"]
        changed += after != text
        kept += _kept_words_lost(text, after)
        doubled += len(_new_doubles(text, after))
        if ops == ("synonym",):
            a, b = WORD.findall(text), WORD.findall(after)
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
                if tag == "replace" and i2 - i1 == 1:
                    new = " ".join(b[j1:j2])
                    case += keep_case(new, a[i1]) != new
    return changed, kept, doubled, case


def test_one_rule_keeps_names_titles_and_acronyms_and_lets_sentence_openers_be():
    text = ("Being John Malkovich is odd. Jack Nicholson and Hugh Grant star; TV fans and SATs. "
            "Great fun, says Adam. Honest work.<br />Here on Earth")
    kept = {text[s:e] for s, e in kept_out(text)}
    assert {"Being", "John", "Malkovich", "Jack", "Nicholson", "Hugh", "Grant", "TV", "SATs", "Adam",
            "Earth", "Here"} <= kept  # "Here": a capitalised word after markup is inside the sentence
    assert not {"Great", "Honest", "odd", "fun"} & kept  # sentence openers (no name after them) stay editable
    assert "<br />" in kept
    shouting = "WHAT A WASTE OF TIME, SAYS JOHN."
    assert [shouting[s:e] for s, e in kept_out(shouting)] == ["WASTE OF TIME"]  # no names in shouting; a collocation
    # A title's small words go with it; a long or punctuated stretch does not. (Multi-word
    # expressions, the rule's other part, are listed apart.)
    title = "Poignant and moving, A Walk to Remember is a love story; About a Boy too, unlike Grant, who is bad."
    assert [title[s:e] for s, e in multiword_expressions(title)] == ["love story"]
    kept = [title[s:e] for s, e in kept_out(title) if (s, e) not in multiword_expressions(title)]
    assert kept == ["A", "Walk", "to", "Remember", "About", "a", "Boy", "Grant"], kept
    again = "Grant goes beyond his usual fluttering. Unlike Grant, Hoult is new. Grant is good."
    assert [again[s:e] for s, e in kept_out(again) if (s, e) not in multiword_expressions(again)] == \
        ["Grant", "Unlike", "Grant", "Hoult", "Grant"]
    # Adversarial mode's call site is the same rule.
    assert names_inside_sentences(text) == kept_out(text)


def test_both_modes_leave_names_titles_and_acronyms_alone():
    from augment.attack.offline import textattack_offline
    from augment.attack.search import attacked_text

    task = get_task("sentiment")
    for text in REVIEWS:
        example = {"text": text, "label": 1, "idx": 0}
        # Adversarial: every kept-out word is behind a placeholder the search never edits.
        with textattack_offline():
            attacked, ranges, _ = attacked_text(task, example)
        masked = attacked.text
        for s, e in kept_out(text):
            for word in WORD.findall(text[s:e]):
                assert word not in WORD.findall(masked) or text.count(word) > text[s:e].count(word), (word, masked)
        # Random: at a rate of 1, every editable word is offered, and no kept-out word changes.
        for seed in range(5):
            for ops in (("synonym",), ("delete",), ("synonym", "delete")):
                after, _ = apply_ops(text, ops, 1.0, seed)
                assert _kept_words_lost(text, after) == 0, after
    # And the words stay editable where the rule lets them: a shouting review is still edited.
    assert apply_ops(REVIEWS[-1], ("synonym",), 1.0, 0)[0] != REVIEWS[-1]


def test_a_synonym_fits_its_neighbours():
    assert not fits("Alzheimer's disease", "Alzheimer's", "", "disease")  # "Alzheimer's disease disease"
    assert not fits("come through", "come", "", "through")  # holds the word itself
    assert not fits("romance language", "romance", "the", "works")
    assert not fits("Alzheimers", "Alzheimer's", "", "disease")  # the same word
    assert not fits("great film", "movie", "great", "")  # repeats the word before
    assert fits("moving picture", "film", "the", "is")


def test_no_deletion_leaves_a_word_twice_in_a_row():
    import random

    words = "we walk and walk again".split()
    for seed in range(10):  # "and" is not deleted: another word is, one whose deletion doubles none
        moved = no_doubled_words(words, [True] * 5, {2}, random.Random(seed))
        assert len(moved) == 1 and moved != {2}
    assert no_doubled_words(words, [False, False, True, False, False], {2}, random.Random(0)) == set()
    assert no_doubled_words(["a", "a", "b"], [True] * 3, {2}, random.Random(0)) == {2}  # already doubled: left
    text = "We walk and walk again, and talk and talk; the film film is odd but the ending ending works."
    for seed in range(30):
        for ops in (("delete",), ("synonym",), ("synonym", "delete")):
            after, _ = apply_ops(text, ops, 0.4, seed)
            assert not _new_doubles(text, after), (ops, after)


def test_multi_word_synonyms_follow_case_and_keep_their_own_capitals():
    # A capitalised sentence opener: the lemma's first word capitalised, the lemma's own capitals kept.
    seen = set()
    for seed in range(40):
        after, _ = apply_ops("Movies are fun.", ("synonym",), 1.0, seed)
        first = after.split(" are ")[0]
        seen.add(first)
        assert first[0].isupper() and first.endswith("s"), after  # inflected as the word: plural
    assert any(" " in s or "-" in s for s in seen), seen  # multi-word lemmas were drawn
    assert keep_case("Saint Nicholas", "santa") == "Saint Nicholas"
    assert keep_case("motion picture", "FILM") == "MOTION PICTURE"
    # Shouting text: all caps in, all caps out.
    after, _ = apply_ops("THE FILM IS A GREAT JOY.", ("synonym",), 1.0, 0)
    assert after != "THE FILM IS A GREAT JOY." and after.isupper(), after


def test_the_tagger_is_contextual_offline_and_doctor_names_it(cli, tmp_path):
    import nltk

    from augment.common.resources import ensure_resources, pos_tagger
    from augment.synonyms import tag_in_context

    origin = ensure_resources()[2].origin
    if origin == "fallback":
        pytest.skip("textblob-aptagger is not installed here")
    tag = pos_tagger()
    assert tag(["I", "sound", "odd"]) == nltk.pos_tag(["I", "sound", "odd"])  # NLTK's tags (perceptron.py)
    # The same word, two parts of speech by context.
    assert tag_in_context(tag, ["they", "book", "a", "table"], [[]] * 4)[1].startswith("VB") or \
        tag_in_context(tag, ["I", "sound", "odd"], [[]] * 3)[1].startswith("VB")
    assert tag_in_context(tag, ["a", "good", "book"], [[]] * 3)[2] == "NN"
    assert tag_in_context(tag, ["it", "may", "sound", "odd"], [[]] * 4)[2] == "VB"
    assert tag_in_context(tag, ["a", "sound", "idea"], [[]] * 3)[1] == "JJ"
    assert tag_in_context(tag, ["The", "film", "didn't", "work"], [[]] * 4)[2] == "VBD"
    res = cli("augment.cli", "doctor", env={"PTP_OFFLINE": "1"})
    line = next(li for li in res.stdout.splitlines() if "pos_tagger" in li)
    assert "textblob-aptagger" in line and "contextual" in line and "% Penn tags" in line, line


def test_fast_tagger_gives_nltk_pos_tags_tag_for_tag():
    """augment/common/perceptron.py against nltk.pos_tag on the same model: every tag of
    WordNet-WiC's first 1,500 rows and of the messy reviews, and `stop` tags a sentence's first
    tokens in its whole context."""
    import nltk

    from augment.common.perceptron import PerceptronTagger
    from augment.common.resources import ensure_resources, use_perceptron_tagger
    from augment.common.sources import load_task_data

    ensure_resources()
    if not use_perceptron_tagger():
        pytest.skip("no perceptron model resolved (the WordNet fallback tagger is in use)")
    tagger = PerceptronTagger()
    data, _ = load_task_data("wic", "wordnet", log=lambda *_: None)
    texts = [r[f] for r in data["train"].select(range(1500)).to_list() for f in ("sentence1", "sentence2")] + REVIEWS
    tokens = [re.findall(r"\w+(?:'\w+)?|[^\w\s]", text) for text in texts]
    assert sum(len(t) for t in tokens) > 20_000
    for sentence in tokens:
        assert tagger.tag(sentence) == nltk.pos_tag(sentence)
        assert tagger.tag(sentence, 3) == nltk.pos_tag(sentence)[:3]


def test_wordnet_lemma_table_is_nltks_synsets_lemmas_and_counts():
    """common/wordnet_lemmas.py gives each synset of wordnet.synsets(word, pos), in order, as its
    lemma names and SemCor counts (Lemma.count()), for inflected, capitalised and unknown words."""
    from nltk.corpus import wordnet as wn

    from augment.common import wordnet_lemmas
    from augment.common.resources import ensure_resources

    ensure_resources()
    words = ["film", "Movies", "went", "running", "odd", "hard", "better", "geese", "romance", "bank", "take",
             "looked", "nonexistentword", "U.S.", "great", "quickly", "dogs"]
    for word in words:
        for pos in ("n", "v", "a", "s", "r"):
            expected = [[[lem.name(), lem.count()] for lem in syn.lemmas()] for syn in wn.synsets(word, pos)]
            assert wordnet_lemmas.synsets(word, pos) == expected, (word, pos)
    assert wordnet_lemmas.table_path().is_file() and len(wordnet_lemmas.lemma_table()) == 117_659


def test_senses_option_frequent_is_a_subset_of_all():
    from augment.common import wordnet_lemmas
    from augment.common.resources import ensure_resources
    from augment.common.errors import PTPError
    from augment.synonyms import frequent_senses

    ensure_resources()
    for word, pos in (("film", "n"), ("sound", "v"), ("odd", "a"), ("romance", "n"), ("hard", "r")):
        every = wordnet_lemmas.synsets(word, pos)
        frequent = frequent_senses(every, word, pos)
        assert frequent and all(s in every for s in frequent) and len(frequent) < len(every), (word, frequent)
        assert frequent[0] == every[0]
    with pytest.raises(PTPError, match="--senses some"):
        RandomSpec(senses="some")
    assert RandomSpec().to_dict()["senses"] in ("frequent", "all") and RandomSpec().to_dict()["text_version"] == 4
    a = [apply_ops("The film is a moving portrait of grief.", ("synonym",), 1.0, s, senses="all")[0] for s in range(10)]
    f = [apply_ops("The film is a moving portrait of grief.", ("synonym",), 1.0, s, senses="frequent")[0] for s in range(10)]
    assert a != f


@pytest.mark.parametrize("ops", [("synonym",), ("synonym", "delete")])
def test_messy_reviews_no_kept_word_edited_no_doubled_word_case_kept(ops):
    changed, kept, doubled, case = audit(REVIEWS, ops, rate=0.3)
    assert changed == len(REVIEWS) and kept == 0 and doubled == 0 and case == 0


def test_sentiment_set_no_kept_word_edited_no_doubled_word_case_kept():
    """The issue's check: the first 400 train rows at rate 0.15, synonym and synonym+delete."""
    from augment.common.sources import load_task_data
    from tests.conftest import fetched_or_skipped

    data, _ = fetched_or_skipped(lambda: load_task_data("sentiment", log=lambda *_: None), "the shipped sentiment set")
    texts = data["train"].select(range(400))["text"]
    for ops in (("synonym",), ("synonym", "delete")):
        changed, kept, doubled, case = audit(texts, ops)
        assert changed > 380 and (kept, doubled, case) == (0, 0, 0), (ops, changed, kept, doubled, case)


def test_pos_tagger_benchmark_smoke(tmp_path):
    """benchmarks/pos_tagger_accuracy.py on the committed hand-tagged sample: the contextual tagger
    is ahead of the fallback on Penn tags, and the counts agree."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, ROOT / "benchmarks" / "pos_tagger_accuracy.py", "--smoke", "--out", tmp_path],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((tmp_path / "pos_tagger_accuracy.json").read_text())
    taggers = data["taggers"]
    assert data["smoke"] is True and data["rows"] == 12
    assert {t["word_tokens"] for t in taggers.values()} == {235}
    assert taggers["perceptron"]["penn_accuracy"] > taggers["wordnet-frequency"]["penn_accuracy"] + 20


@pytest.mark.parametrize("base, tag, form", [
    ("movie", "NNS", "movies"), ("mouse", "NNS", "mice"), ("box", "NNS", "boxes"), ("city", "NNS", "cities"),
    ("take", "VBD", "took"), ("take", "VBN", "taken"), ("go", "VBD", "went"), ("go", "VBN", "gone"),
    ("stop", "VBD", "stopped"), ("rock", "VBD", "rocked"), ("love", "VBG", "loving"), ("die", "VBG", "dying"),
    ("go", "VBZ", "goes"), ("carry", "VBZ", "carries"), ("make", "VBN", "made")])
def test_a_synonym_takes_the_form_of_the_word_it_replaces(base, tag, form):
    from augment.synonyms import inflect, inflected

    assert inflected(base, tag) == form
    assert inflect(f"{base} through", tag, "x" + form, "v") == f"{form} through"


def test_a_sentence_opener_the_tagger_calls_a_proper_noun_is_not_swapped():
    for seed in range(10):
        after, _ = apply_ops("Payne pokes fun at people. Jack plays a cop.", ("synonym",), 1.0, seed)
        assert after.startswith("Payne ") and ". Jack " in after, after


def test_a_deleted_sentence_opener_passes_its_capital_on():
    text = "An exhaustive investigation into the roots. The film is great. Not bad."
    for seed in range(20):
        after, _ = apply_ops(text, ("delete",), 0.3, seed)
        for sentence in re.split(r"(?<=\.) ", after):
            assert sentence[:1].isupper(), after


def test_no_partner_brings_an_offensive_word_its_original_lacks():
    """WordNet lists 'fuck', 'screw' and 'hump' among the verb love's synonyms; no partner takes one
    (better-profanity's list, protect.new_offence), in random mode or through adversarial mode's
    constraint, unless the original had the word."""
    from nltk.corpus import wordnet as wn

    from augment.attack.recipes import no_new_offence
    from augment.attack.offline import textattack_offline
    from augment.common.resources import ensure_resources
    from augment.protect import new_offence, offensive

    ensure_resources()
    lemmas = {lem.name() for syn in wn.synsets("love", "v") for lem in syn.lemmas()}
    assert {"fuck", "screw"} <= lemmas and offensive("fuck")  # there to be drawn
    text = "They love each other, and the film knows it."
    partners = {apply_ops(text, ("synonym",), 1.0, seed, senses="all")[0] for seed in range(40)}
    assert len(partners) > 5
    assert not [p for p in partners if new_offence(text, p)], partners
    assert not new_offence("What the hell.", "hell") and new_offence("the consequences of love", "fuck")
    with textattack_offline():
        from textattack.shared import AttackedText

        original = AttackedText("the consequences of love")
        assert not no_new_offence()._check_constraint(original.replace_word_at_index(3, "fuck"), original)
        assert no_new_offence()._check_constraint(original.replace_word_at_index(3, "romance"), original)


def test_multiword_expressions_are_swapped_whole_or_not_at_all():
    """A phrasal verb or a WordNet collocation ("held up", "take place", "look forward", "motion
    picture") loses no word to an edit in either mode: the shared rule keeps it out."""
    from augment.protect import kept_out, multiword_expressions

    text = "Crowds held up the traffic; the premiere will take place soon and we look forward to the motion picture."
    kept = ["held up", "take place", "look forward", "motion picture"]
    assert all(any(text[a:b] == k for a, b in multiword_expressions(text)) for k in kept)
    assert all(any(a <= text.index(k) and text.index(k) + len(k) <= b for a, b in kept_out(text)) for k in kept)
    for seed in range(15):
        for ops in (("synonym",), ("synonym", "delete")):
            partner = apply_ops(text, ops, 1.0, seed, senses="all")[0]
            assert all(k in partner for k in kept), partner


def test_a_swap_is_at_most_one_word_longer_than_its_word():
    """The register rule: 'bank' may become a two-word synonym, never 'depository financial
    institution' (WordNet offers it); in random mode and in adversarial mode's WordNet swap."""
    from nltk.corpus import wordnet as wn

    from augment.attack.offline import textattack_offline
    from augment.attack.recipes.pwws_ren_2019 import transformation

    offered = {lem.name() for syn in wn.synsets("bank", "n") for lem in syn.lemmas()}
    assert "depository_financial_institution" in offered
    text = "The bank was closed."
    swaps = {apply_ops(text, ("synonym",), 1.0, seed, senses="all")[0].split(" was")[0][4:] for seed in range(40)}
    assert len(swaps) > 3 and all(len(s.split()) <= 2 for s in swaps), swaps
    with textattack_offline():
        words = transformation()._get_replacement_words("bank")
    assert words and all(len(w.split()) <= 2 for w in words) and "depository financial institution" not in words


def test_deletions_in_lists_and_dashed_compounds_leave_no_stray_marks():
    """Wikipedia text (BoolQ's passages): a year in "(1975, 1987, 1996)" is a list item the delete op leaves: deleting
    it is kept (deleting it left ",," or "(,"); the parts of "crown--rump" and "4--3" are one compound that
    neither op edits (a deleted part left "whose--rump")."""
    text = ("Australia has played in seven finals (1975, 1987, 1996, 1999, 2003, 2007, 2015), losing 4--3 once. However, "
            "The embryo whose crown--rump length is known, copper, glass, and steel were weighed.")
    for seed in range(30):
        after, _ = apply_ops(text, ("delete", "synonym"), 0.3, seed)
        assert ",," not in after and "(," not in after and ", )" not in after and "., " not in after, after
        assert "crown--rump" in after and "4--3" in after, after
