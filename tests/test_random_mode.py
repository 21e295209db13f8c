import json

import datasets
import pytest

from augment.protect import mask, unmask
from augment.random_ops import RandomSpec, perturb_example
from augment.common.sources import load_task_data
from augment.common.tasks import get_task


def _build(cli, tmp_path, *args, out="out"):
    return cli("augment.cli", "build", *args, "--out", tmp_path / out, cwd=tmp_path)


def test_mask_unmask_round_trip_keeps_spacing():
    text = "He sat on the bank, then the bank closed."
    ranges = [(14, 18), (29, 33)]
    masked, names = mask(text, ranges)
    assert "bank" not in masked
    restored, new = unmask(masked.replace("sat", "sit"), names, text, ranges)
    assert restored == "He sit on the bank, then the bank closed."
    assert [restored[s:e] for s, e in new] == ["bank", "bank"]
    assert unmask(masked.replace(names[0], ""), names, text, ranges) is None


@pytest.mark.parametrize("task_name", ["wic", "wsc"])
def test_protected_spans_survive_and_offsets_follow(task_name, fixtures):
    task = get_task(task_name)
    data, _ = load_task_data(task_name, data_dir=fixtures, log=lambda *_: None)
    spec = RandomSpec(rate=0.5)
    changed = 0
    for row, ex in enumerate(data["train"]):
        for variant in range(3):
            p, record = perturb_example(task, ex, spec, seed=1, row=row, variant=variant)
            changed += record["changed"]
            if task_name == "wic":
                for s, a, b in (("sentence1", "start1", "end1"), ("sentence2", "start2", "end2")):
                    assert p[s][p[a]:p[b]] == ex[s][ex[a]:ex[b]]
            else:
                for i, t in (("span1_index", "span1_text"), ("span2_index", "span2_text")):
                    # The span's words, where a deletion after them may leave its punctuation
                    # attached ("because it is too large." -> "because it.")
                    n = len(ex[t].split())
                    words = p["text"].split()[p[i]:p[i] + n]
                    assert " ".join(words).rstrip(".,;:!?") == " ".join(ex["text"].split()[ex[i]:ex[i] + n]).rstrip(".,;:!?")
            assert record["changed"] == (p != ex)
    assert changed > 0


def _lib_build(tmp_path, out, task="wic", data_dir=None, seed=0, num_proc=1, force=False, jsonl=False, **spec):
    from augment.build import build_corpus

    logs = []
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber(task, RandomSpec(**spec), seed=seed, num_proc=num_proc), out=tmp_path / out,
                 data_dir=data_dir, force=force, jsonl=jsonl, log=logs.append)
    return "\n".join(logs)


def test_same_seed_same_bytes_for_any_worker_count_other_seed_differs(tmp_path, fixtures):
    common = dict(data_dir=fixtures, variants=2, rate=0.3)
    _lib_build(tmp_path, "a", seed=5, **common)
    _lib_build(tmp_path, "b", seed=5, num_proc=2, **common)
    _lib_build(tmp_path, "c", seed=6, **common)
    for split in ("train", "validation", "test"):
        for f in (tmp_path / "a" / split).iterdir():
            assert f.read_bytes() == (tmp_path / "b" / split / f.name).read_bytes(), f
    ta = datasets.load_from_disk(str(tmp_path / "a"))["train"]
    tc = datasets.load_from_disk(str(tmp_path / "c"))["train"]
    assert len(ta) == 16 and ta["perturbed"] != tc["perturbed"]
    assert [r["variant"] for r in ta["perturbation"]][:4] == [0, 1, 0, 1]
    assert [r["row"] for r in ta["perturbation"]][:4] == [0, 0, 1, 1]


DISTINCT = [("The baker sold warm bread to hungry children every morning.", "Bread was sold."),
            ("A violent storm destroyed the old wooden bridge near the harbour.", "The bridge survived."),
            ("Scientists discovered a rare orchid growing inside the volcanic crater.", "An orchid was found."),
            ("The orchestra rehearsed the difficult symphony until midnight on Friday.", "Musicians practised late."),
            ("Farmers harvested golden wheat before the heavy autumn rains arrived.", "The wheat rotted."),
            ("Our neighbour repaired his rusty bicycle with borrowed tools yesterday.", "A bike was fixed."),
            ("Tourists photographed the ancient castle from the quiet lake shore.", "Visitors took pictures."),
            ("The senator delivered a passionate speech about public schools and teachers.", "A politician spoke.")]


@pytest.mark.parametrize("num_proc", [1, 2])
def test_each_partner_is_an_edit_of_its_own_row(tmp_path, num_proc):
    """Every pair's perturbed fields derive from its own original: perturbation.row is its row in
    the source train split, the pair's original fields are that row's, and of all train rows its
    own shares the most words with the partner (DISTINCT's rows share stopwords only)."""
    from collections import Counter

    from augment.random_ops import WORD

    data = tmp_path / "RTE"
    data.mkdir()
    for split, rows in (("train", DISTINCT), ("val", DISTINCT[:2])):
        (data / f"{split}.jsonl").write_text("".join(json.dumps({"premise": p, "hypothesis": h, "idx": i, "label":
                                                                 "entailment"}) + "\n" for i, (p, h) in enumerate(rows)))
    _lib_build(tmp_path, "c", task="rte", data_dir=data, num_proc=num_proc, variants=2, rate=0.3)
    train = load_task_data("rte", "local", data, log=lambda *_: None)[0]["train"].to_list()
    pairs = datasets.load_from_disk(str(tmp_path / "c"))["train"].to_list()
    assert [p["perturbation"]["row"] for p in pairs] == [i for i in range(len(DISTINCT)) for _ in range(2)]
    words = lambda ex: Counter(w.lower() for f in ("premise", "hypothesis") for w in WORD.findall(ex[f]))  # noqa: E731
    for pair in pairs:
        row = pair["perturbation"]["row"]
        assert {k: pair[k] for k in train[row]} == train[row]
        shared = [sum((words(pair["perturbed"]) & words(t)).values()) for t in train]
        assert max(shared) == shared[row] > max(shared[:row] + shared[row + 1:]), \
            f"row {row}'s partner {pair['perturbed']} shares most words with another row: {shared}"


def test_corpus_folder_cache_hit_miss_force_and_jsonl(cli, tmp_path, fixtures):
    logs = _lib_build(tmp_path, "out", task="rte", data_dir=fixtures, jsonl=True)
    assert "wrote" in logs
    out = tmp_path / "out"
    manifest = json.loads((out / "ptp_manifest.json").read_text())
    assert manifest["task"] == "rte" and manifest["source"]["name"] == "local"
    assert manifest["params"]["ops"] == ["synonym", "delete"] and manifest["versions"]["nlpaug"]
    assert (out / "README.md").exists() and (out / "train.jsonl").exists()
    ds = datasets.load_from_disk(str(out))
    assert set(ds) == {"train", "validation", "test"}
    assert ds["validation"].column_names == ["premise", "hypothesis", "label", "idx"]
    # The CLI finds the same corpus (same fingerprint) without rebuilding.
    hit = _build(cli, tmp_path, "--task", "rte", "--data-dir", fixtures, "--format", "jsonl")
    assert hit.returncode == 0 and "cached:" in hit.stdout, hit.stderr
    assert "cached:" not in _lib_build(tmp_path, "out", task="rte", data_dir=fixtures, rate=0.2)
    assert "cached:" in _lib_build(tmp_path, "out", task="rte", data_dir=fixtures, rate=0.2)
    assert "cached:" not in _lib_build(tmp_path, "out", task="rte", data_dir=fixtures, rate=0.2, force=True)
    # Changing the source data changes its fingerprint: the corpus is rebuilt.
    data = tmp_path / "data" / "RTE"
    data.mkdir(parents=True)
    for f in (fixtures / "RTE").iterdir():
        (data / f.name).write_text(f.read_text())
    _lib_build(tmp_path, "o2", task="rte", data_dir=tmp_path / "data")
    with (data / "train.jsonl").open("a") as handle:
        handle.write(json.dumps({"premise": "A dog ran home.", "hypothesis": "A dog ran.", "label": "entailment", "idx": 99}) + "\n")
    assert "cached:" not in _lib_build(tmp_path, "o2", task="rte", data_dir=tmp_path / "data")
    assert json.loads((tmp_path / "o2" / "ptp_manifest.json").read_text())["counts"]["train"] == 9


@pytest.mark.parametrize("args,message", [
    (("--rate", "0"), "--rate 0.0: must be a fraction of words in (0, 1]"),
    (("--rate", "-1"), "--rate -1.0"),
    (("--ops", "shuffle"), "unknown op(s) shuffle"),
    (("--variants", "0"), "--variants 0: must be at least 1"),
    (("--num-proc", "0"), "--num-proc 0: must be at least 1"),
    (("--mode", "fuzzy"), "unknown mode 'fuzzy'"),
])
def test_bad_arguments_one_line_exit_2_nothing_written(cli, tmp_path, fixtures, args, message):
    res = _build(cli, tmp_path, "--task", "wic", "--data-dir", fixtures, *args)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: {message}"] or (
        len(res.stderr.strip().splitlines()) == 1 and message in res.stderr)
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
