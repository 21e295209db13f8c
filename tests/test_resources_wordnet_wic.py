import os

import pytest

from augment.common import resources
from augment.common.resources import ensure_resources, wordnet_pos_tag


def test_resources_resolve_offline_and_doctor_lists_them(cli):
    res = {r.name: r for r in ensure_resources()}
    assert res["wordnet"].ok and res["stopwords"].ok and res["pos_tagger"].ok
    out = cli("augment.cli", "doctor", env={"PTP_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    for name in ("wordnet", "stopwords", "pos_tagger", "encoder", "transformers", "textattack"):
        assert name in out.stdout
    assert "wordnet version 3.0" in out.stdout


def test_doctor_fails_when_wordnet_is_missing(cli, tmp_path):
    # An empty cache, an unreachable downloader and no Debian WordNet: doctor must say so, exit 1.
    if resources._nltk_has("corpora/wordnet") and not resources._nltk_has("corpora/wordnet").startswith(
            os.environ["PTP_CACHE"]):
        pytest.skip("NLTK WordNet installed system-wide")
    out = cli("augment.cli", "doctor",
              env={"PTP_CACHE": str(tmp_path), "PTP_OFFLINE": "1", "PTP_DEBIAN_WORDNET": str(tmp_path / "none")})
    assert out.returncode == 1
    assert "MISSING wordnet" in out.stdout and "apt-get install wordnet-base" in out.stdout


def test_fallback_tagger_gives_wordnet_parts_of_speech():
    ensure_resources()
    tags = dict(wordnet_pos_tag(["the", "dog", "quickly", "beautiful", "ate", "7"]))
    assert tags == {"the": "DT", "dog": "NN", "quickly": "RB", "beautiful": "JJ", "ate": "VB", "7": "CD"}


@pytest.fixture(scope="module")
def wic_splits():
    from augment.common.wordnet_wic import build_pairs

    return build_pairs(seed=0)


def test_wordnet_wic_offsets_point_at_the_word(wic_splits):
    from augment.common.official_files import surface_matches

    for rows in wic_splits.values():
        for row in rows:
            for s, a, b in (("sentence1", "start1", "end1"), ("sentence2", "start2", "end2")):
                surface = row[s][row[a]:row[b]]
                assert surface.isalpha() or "-" in surface or "'" in surface
                assert surface_matches(row["word"], surface), (row["word"], surface)


def test_wordnet_wic_is_balanced_lemma_disjoint_and_large_enough(wic_splits):
    from augment.common.wordnet_wic import stats

    st = stats(wic_splits)
    assert st["lemma_overlap"] == 0
    assert st["splits"]["train"]["rows"] >= 3000
    for split in st["splits"].values():
        assert split["positive"] * 2 == split["rows"]
    keys = {(r["sentence1"], r["sentence2"]) for r in wic_splits["train"]}
    assert len(keys) == len(wic_splits["train"])


def test_wordnet_wic_is_deterministic_for_a_seed(wic_splits):
    from augment.common.wordnet_wic import build_pairs

    assert build_pairs(seed=0) == wic_splits
    assert build_pairs(seed=1)["train"] != wic_splits["train"]
