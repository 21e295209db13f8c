"""`ptp-augment show`: a corpus's rows as word diffs in the terminal and as one self-contained page."""
import csv
import re

import pytest
from click.testing import CliRunner

from augment.cli import main
from augment.show import word_diff
from tests.test_task_files import single_task

MESSY = [
    "The FIRST act is <b>dull</b> &amp; slow.<br /><br />Still, the cast is GREAT and the score soars.",
    "I laughed. <script>alert('x')</script> Then I wept; the ending is a masterpiece of quiet grief.",
    "Visit www.example.com for more -- the director's cut runs long, but every minute earns its place.",
    "Not a good film: the plot wanders, the jokes fall flat, and the leads never find their rhythm.",
]


@pytest.fixture(scope="module")
def messy_corpus(tmp_path_factory):
    from augment.build import build_corpus
    from augment.common.tasks import register_task_file
    from augment.random_ops import RandomSpec

    folder = tmp_path_factory.mktemp("messy")
    path = single_task(folder, "show")
    with (folder / "train.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["review", "stars"])
        writer.writeheader()
        writer.writerows({"review": text, "stars": "pos" if i % 2 else "neg"} for i, text in enumerate(MESSY * 3))
    name = register_task_file(path)
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber(name, RandomSpec(rate=0.3), seed=0), out=folder / "corpus", log=lambda *_: None)
    return folder / "corpus"


def test_a_deleted_word_marks_only_itself():
    original, partner = "the cast is GREAT and the score soars", "the cast is GREAT the score soars"
    spans_o, spans_p = word_diff(original, partner)
    assert [original[a:b] for a, b in spans_o] == ["and"] and spans_p == []


def test_the_terminal_view_marks_exactly_the_changed_words(messy_corpus):
    from augment.common.corpus import load_corpus

    result = CliRunner().invoke(main, ["show", str(messy_corpus), "--rows", "5"])
    assert result.exit_code == 0, result.output
    rows = load_corpus(messy_corpus)[0]["train"]
    shown = result.output.split("-" * 80)[1:]
    assert len(shown) == 5
    for block, row in zip(shown, rows):
        original, partner = (line[2:] for line in block.strip().splitlines()[2:4])
        # Without the marks each line is the text itself, byte for byte (markup included).
        assert original.replace("[[", "").replace("]]", "") == row["review"]
        assert partner.replace("[[", "").replace("]]", "") == row["perturbed"]["review"]
        assert ("[[" in partner or "[[" in original) == (row["review"] != row["perturbed"]["review"])
        marked = re.findall(r"\[\[(.*?)\]\]", original)
        assert marked == [row["review"][a:b] for a, b in word_diff(row["review"], row["perturbed"]["review"])[0]]


def test_the_page_is_self_contained_escaped_and_filterable(messy_corpus, tmp_path):
    out = tmp_path / "page"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["show", str(messy_corpus), "--html", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert (out / "keep.txt").read_text() == "mine"  # the folder's other files are left alone
    assert "&lt;script&gt;" in page and "&lt;/script&gt;" in page and "<script>alert" not in page
    assert "&lt;br /&gt;&lt;br /&gt;" in page and page.count("<script>") == 1  # the filter's own
    assert not re.search(r"(src|href)=\"?https?:", page)  # nothing fetched from the network
    rows = re.findall(r'<tr data-status="(\w+)">', page)
    assert len(rows) == 12 and set(rows) <= {"changed", "unchanged"}
    for status in set(rows):
        assert f'value="{status}" checked> {status} ({rows.count(status)})' in page
    assert page.count('class="del"') + page.count('class="ins"') > 0
    assert "<svg" in page and "words changed per row" in page
    assert "<td>rows</td><td>12</td>" in page


def test_bad_input_is_one_line_exit_2(messy_corpus, tmp_path):
    for args, message in ((["show", str(tmp_path / "none")], "corpus folder not found"),
                          (["show", str(messy_corpus), "--status", "successful"], "no row of"),
                          (["show", str(messy_corpus), "--rows", "0"], "must be at least 1"),
                          (["show", str(messy_corpus), "--split", "dev"], "no split 'dev'")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
