"""Bad input across the CLIs: one line on stderr, exit code 2, no traceback, nothing written."""
import json
import shutil

import pytest

WIC_ROW = {"word": "bank", "sentence1": "He sat on the bank.", "sentence2": "A bank loan.", "start1": 14,
           "end1": 18, "start2": 2, "end2": 6, "label": False, "idx": 0}


@pytest.fixture(scope="module")
def wic_corpus(tmp_path_factory, fixtures):
    from augment.build import build_corpus
    from augment.random_ops import RandomSpec

    out = tmp_path_factory.mktemp("c") / "wic_rand"
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber("wic", RandomSpec()), out=out, data_dir=fixtures, log=lambda *_: None)
    return out


def _data(tmp_path, lines):
    folder = tmp_path / "in" / "WiC"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text("".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines))
    return tmp_path / "in"


def _bad_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


AUGMENT_CASES = {
    "unknown task": (lambda t: ["--task", "nope"], "unknown task 'nope'"),
    "unknown mode": (lambda t: ["--task", "wic", "--mode", "fuzzy"], "unknown mode 'fuzzy'"),
    "recipe needs a resource": (lambda t: ["--task", "wic", "--mode", "adversarial", "--recipe", "textfooler"],
                                "needs counter-fitted word embeddings"),
    "unknown recipe": (lambda t: ["--task", "wic", "--mode", "adversarial", "--recipe", "x"], "unknown recipe 'x'"),
    "missing data folder": (lambda t: ["--task", "wic", "--data-dir", t / "missing"], "data folder not found"),
    "empty data folder": (lambda t: ["--task", "wic", "--data-dir", _bad_folder(t)], "none of train.jsonl"),
    "malformed line": (lambda t: ["--task", "wic", "--data-dir", _data(t, [WIC_ROW, "{oops"])],
                       "train.jsonl:2: not valid JSON"),
    "missing field": (lambda t: ["--task", "wic", "--data-dir", _data(t, [{k: v for k, v in WIC_ROW.items() if k != "word"}])],
                      "train.jsonl:1: field 'word' is missing"),
    "wrong type": (lambda t: ["--task", "wic", "--data-dir", _data(t, [{**WIC_ROW, "end1": "18"}])],
                   "field 'end1' should be an integer"),
    "label outside": (lambda t: ["--task", "wic", "--data-dir", _data(t, [{**WIC_ROW, "label": 7}])],
                      "has label 7, which is not one of"),
    "offsets off the word": (lambda t: ["--task", "wic", "--data-dir", _data(t, [{**WIC_ROW, "start1": 7, "end1": 9}])],
                             "offsets 7:9 select 'on'"),
    "empty split": (lambda t: ["--task", "wic", "--data-dir", _data(t, [])], "the train split is empty"),
    "zero rate": (lambda t: ["--task", "wic", "--rate", "0"], "--rate 0.0"),
    "negative limit": (lambda t: ["--task", "wic", "--limit", "-3"], "--limit -3"),
}


@pytest.mark.parametrize("case", sorted(AUGMENT_CASES))
def test_ptp_augment_rejects(case, cli, tmp_path):
    make_args, message = AUGMENT_CASES[case]
    out = tmp_path / "out"
    res = cli("augment.cli", "build", *make_args(tmp_path), "--out", out, cwd=tmp_path)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.tmp*"))


def test_output_folder_with_other_content_is_refused(cli, tmp_path, fixtures):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = cli("augment.cli", "build", "--task", "rte", "--data-dir", fixtures, "--out", out)
    assert res.returncode == 2 and "exists and is not a ptp corpus" in res.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_second_writer_is_refused_with_the_lock_named(cli, tmp_path, fixtures):
    from filelock import FileLock

    out = tmp_path / "out"
    with FileLock(str(tmp_path / ".out.lock")):
        res = cli("augment.cli", "build", "--task", "rte", "--data-dir", fixtures, "--out", out)
    assert res.returncode == 2 and "another process is writing this folder" in res.stderr
    assert f"(lock {tmp_path / '.out.lock'})" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def _corpus_copy(tmp_path, wic_corpus, edit=None):
    copy = tmp_path / "pairs"
    shutil.copytree(wic_corpus, copy)
    if edit:
        manifest = json.loads((copy / "ptp_manifest.json").read_text())
        edit(manifest)
        (copy / "ptp_manifest.json").write_text(json.dumps(manifest))
    return copy


TRAIN_CASES = {
    "pairs not a corpus": (lambda t, c: ["--pairs", _bad_folder(t)], "not a ptp-augment corpus"),
    "pairs missing": (lambda t, c: ["--pairs", t / "nope"], "corpus folder not found"),
    "pairs of another task": (lambda t, c: ["--task", "rte", "--pairs", c], "corpus is for task 'wic', not 'rte'"),
    "schema version": (lambda t, c: ["--pairs", _corpus_copy(t, c, lambda m: m.update(schema_version=99))],
                       "corpus schema version 99"),
    "model path missing": (lambda t, c: ["--pairs", c, "--model", t / "no-model"], "no such model folder"),
    "model not an encoder": (lambda t, c: ["--pairs", c, "--model", _bogus_model(t)], "cannot load a sequence encoder"),
    "seeds do not parse": (lambda t, c: ["--pairs", c, "--seeds", "1,x"], "--seeds '1,x'"),
    "zero eps": (lambda t, c: ["--pairs", c, "--embed-noise", "pgd", "--eps", "0"], "--eps 0: PGD needs a positive radius"),
    "negative sigma": (lambda t, c: ["--pairs", c, "--embed-noise", "gaussian", "--sigma", "-1"], "--sigma -1.0"),
    "zero steps": (lambda t, c: ["--pairs", c, "--embed-noise", "pgd", "--steps", "0"], "--steps 0"),
    "zero batch size": (lambda t, c: ["--pairs", c, "--batch-size", "0"], "--batch-size 0"),
    "unknown method": (lambda t, c: ["--pairs", c, "--method", "lora"], "--method lora: choose one of"),
    "unknown precision": (lambda t, c: ["--pairs", c, "--precision", "fp16"], "--precision fp16: choose one of"),
    "unknown task": (lambda t, c: ["--task", "nope"], "unknown task 'nope'"),
    "no task": (lambda t, c: [], "pass --task"),
}


def _bogus_model(tmp_path):
    folder = tmp_path / "bogus"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "not-a-model"}))
    return folder


@pytest.mark.parametrize("case", sorted(TRAIN_CASES) + ["cuda asked, none here"])
def test_ptp_train_rejects(case, cli, tmp_path, wic_corpus):
    import torch

    if case == "cuda asked, none here":
        if torch.cuda.is_available():
            pytest.skip("a CUDA device is present")
        args, message = ["--pairs", wic_corpus, "--device", "cuda"], "--device cuda: no CUDA device"
    else:
        make_args, message = TRAIN_CASES[case]
        args = make_args(tmp_path, wic_corpus)
    out = tmp_path / "run"
    res = cli("training.cli", *args, "--out", out, cwd=tmp_path)
    assert res.returncode == 2, (res.stdout[-500:], res.stderr[-2000:])
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert not out.exists()


def test_debug_shows_the_traceback(cli, tmp_path):
    res = cli("augment.cli", "build", "--task", "nope", "--debug", cwd=tmp_path)
    assert res.returncode != 0 and "Traceback" in res.stderr and "PTPError" in res.stderr
