"""All eight SuperGLUE tasks: candidate scoring, official metrics on hand-checked cases, the
FewGLUE protocol, and each task through training and both augmentation modes."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from augment.common.errors import PTPError
from augment.common.tasks import TASKS, candidate_names, get_task, gold
from training.config import TrainSpec
from training.metrics import record_scores, task_metrics, token_f1

ROOT = Path(__file__).resolve().parents[1]


# --- metrics, computed by hand -------------------------------------------------------------


def test_multirc_f1a_and_em_by_hand():
    rows = [{"question_id": "q1", "label": y} for y in (1, 0, 1)] + [{"question_id": "q2", "label": y} for y in (0, 1)]
    preds = [1, 0, 0, 0, 1]
    # F1a over the five answers: tp 2, fp 0, fn 1 -> 4/5. EM: q1 has a miss, q2 is all right -> 1/2.
    assert task_metrics(get_task("multirc"), rows, preds) == {"f1a": 80.0, "em": 50.0, "accuracy": 80.0}
    # All answers predicted False: no true positive, F1a 0; q1 wrong, q2 wrong -> EM 0.
    assert task_metrics(get_task("multirc"), rows, [0] * 5)["f1a"] == 0.0


def test_record_token_f1_and_em_by_hand():
    # "the Louvre Museum" vs "Louvre": normalised tokens [louvre, museum] vs [louvre] -> P 1/2, R 1, F1 2/3.
    assert math.isclose(token_f1("the Louvre Museum", "Louvre"), 2 / 3)
    assert token_f1("Tom Hanks!", "tom hanks") == 1.0
    f1, em = record_scores(["Tom Hanks", "the Louvre Museum", "Paris"],
                           [["Tom Hanks"], ["Louvre"], ["London", "Paris, France"]])
    # Per query F1: 1, 2/3, max(0, 2/3) (Paris vs "paris france": P 1, R 1/2); EM: 1, 0, 0.
    assert math.isclose(f1, (1 + 2 / 3 + 2 / 3) / 3) and math.isclose(em, 1 / 3)
    rows = [{"answers": ["Tom Hanks"]}, {"answers": ["Louvre"]}, {"answers": ["London", "Paris, France"]}]
    cands = [["Paris", "Tom Hanks"], ["the Louvre Museum"], ["Paris", "London"]]
    assert task_metrics(get_task("record"), rows, [1, 0, 0], cands) == {"f1": 77.78, "em": 33.33}


def test_copa_and_cb_metrics_by_hand():
    rows = [{"label": y} for y in (0, 1, 1, 0)]
    assert task_metrics(get_task("copa"), rows, [0, 1, 0, 0]) == {"accuracy": 75.0}
    cb = [{"label": y} for y in (0, 1, 2, 2)]
    # Class F1s: 0 -> 2/3 (tp 1, fp 1), 1 -> 0 (never predicted right), 2 -> 1/2 (tp 1, fp 1, fn 1)
    # -> macro (2/3 + 0 + 1/2) / 3 = 7/18.
    assert task_metrics(get_task("cb"), cb, [0, 2, 2, 0]) == {"accuracy": 50.0, "f1_macro": 38.89}


# --- candidates and the loss ---------------------------------------------------------------


def test_record_candidates_are_distinct_entities_and_gold_may_be_several():
    task = get_task("record")
    row = {"entities": ["Paris", "U.S.", "Paris", "United States"], "answers": ["U.S.", "United States"],
           "query": "He flew to @placeholder.", "passage": "..."}
    assert candidate_names(task, row) == ["Paris", "U.S.", "United States"]
    assert gold(task, row) == [1, 2]
    from training.data import candidates

    assert [c["query"] for c in candidates(task, row, candidate_names(task, row))][0] == "He flew to Paris."
    assert gold(task, {**row, "answers": ["Lyon"]}) == []


def test_copa_renders_the_connective_with_each_choice():
    from training.data import candidates, render

    task = get_task("copa")
    row = {"premise": "The man fell.", "choice1": "He slipped.", "choice2": "He sang.", "question": "cause", "label": 0}
    segments = [render(task, c)[0] for c in candidates(task, row, candidate_names(task, row))]
    assert segments == [["The man fell. because", "He slipped."], ["The man fell. because", "He sang."]]
    effect = {**row, "question": "effect"}
    assert render(task, candidates(task, effect, ["choice1"])[0])[0][0] == "The man fell. so"


def test_gold_cross_entropy_is_cross_entropy_and_sums_several_gold():
    from training.losses import gold_cross_entropy

    logits = torch.tensor([[1.0, -0.5, 2.0], [0.3, 0.1, -1.0]])
    labels = torch.tensor([2, 0])
    one_hot = F.one_hot(labels, 3).bool()
    assert torch.allclose(gold_cross_entropy(logits, one_hot), F.cross_entropy(logits, labels))
    both = torch.tensor([[True, True, False]])
    p = logits[:1].softmax(-1)[0]
    assert torch.allclose(gold_cross_entropy(logits[:1], both), -torch.log(p[0] + p[1]))


def test_collated_candidates_flatten_and_pad_at_minus_1e4():
    from training.data import Collator, Encoded, flatten, scores

    def enc(n):
        return Encoded(list(range(1, n + 1)), None, [])

    items = [{"clean": [enc(3), enc(2), enc(4)], "gold": [2], "names": list("abc")},
             {"clean": [enc(2)], "gold": [0], "names": ["a"]}]
    batch = Collator(0, 1)(items)
    assert batch["clean"]["input_ids"].shape == (2, 3, 4) and batch["gold"].tolist() == [[False, False, True],
                                                                                          [True, False, False]]
    flat = flatten(batch["clean"])
    assert flat["input_ids"].shape[0] == 4  # padding candidates are not encoded
    s = scores(torch.tensor([[0.5], [0.25], [0.75], [0.125]]), batch["clean"]["valid"])
    assert s.tolist() == [[0.5, 0.25, 0.75], [0.125, -1e4, -1e4]]


# --- FewGLUE --------------------------------------------------------------------------------


def test_few_shot_sample_is_stratified_seeded_and_whole_questions_for_multirc():
    from training.protocol import few_shot_sample

    rows = [{"label": 0, "idx": i} for i in range(30)] + [{"label": 1, "idx": 30 + i} for i in range(10)]
    sample = few_shot_sample(get_task("rte"), rows, 8, seed=1)
    assert sorted(r["label"] for r in sample) == [0] * 6 + [1] * 2
    assert sample == few_shot_sample(get_task("rte"), rows, 8, seed=1)
    assert sample != few_shot_sample(get_task("rte"), rows, 8, seed=2)
    multirc = [{"question_id": f"q{i // 3}", "label": i % 2, "idx": i} for i in range(30)]
    picked = few_shot_sample(get_task("multirc"), multirc, 4, seed=0)
    questions = {r["question_id"] for r in picked}
    assert len(questions) == 4 and len(picked) == 12


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "training.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=os.environ.copy())


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tests.tiny_models import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


def test_fewglue_train_file_with_superglue_eval_dir(tmp_path, tiny_bert, fixtures):
    few = tmp_path / "FewGLUE" / "RTE"
    few.mkdir(parents=True)
    lines = (fixtures / "RTE" / "train.jsonl").read_text().splitlines()
    (few / "train.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (few / "unlabeled.jsonl").write_text((fixtures / "RTE" / "test.jsonl").read_text())
    common = ["--task", "rte", "--data-dir", few, "--model", tiny_bert, "--epochs", "1", "--batch-size", "2",
              "--prefix-len", "2", "--device", "cpu"]
    missing = _cli(*common, "--out", tmp_path / "no-eval")
    assert missing.returncode == 2 and "--eval-dir" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "no-eval").exists()
    ok = _cli(*common, "--eval-dir", fixtures / "RTE", "--out", tmp_path / "run")
    assert ok.returncode == 0, ok.stderr[-2000:]
    config = json.loads((tmp_path / "run" / "seed-1" / "config.json").read_text())
    metrics = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert metrics["train_rows"] == 4 and metrics["validation_rows"] == 2
    assert config["provenance"]["evaluation"]["location"].endswith("RTE")
    # `ptp-train evaluate` scores the run on the validation split it was trained against.
    again = _cli("evaluate", tmp_path / "run" / "seed-1", "--device", "cpu")
    assert again.returncode == 0 and json.loads(again.stdout.splitlines()[-1])["accuracy"] == metrics["best"]["accuracy"]


def test_train_size_draws_a_recorded_stratified_set(tmp_path, tiny_bert, fixtures):
    run = _cli("--task", "boolq", "--data-dir", fixtures, "--model", tiny_bert, "--epochs", "1", "--batch-size", "2",
               "--prefix-len", "2", "--device", "cpu", "--train-size", "4", "--sample-seed", "3", "--out", tmp_path / "r")
    assert run.returncode == 0, run.stderr[-2000:]
    config = json.loads((tmp_path / "r" / "seed-1" / "config.json").read_text())
    few = config["provenance"]["few_shot"]
    assert few["train_size"] == 4 and few["sample_seed"] == 3 and few["rows"] == 4 and len(few["idx"]) == 4
    assert config["spec"]["train_size"] == 4
    from augment.common.sources import load_task_data

    train = load_task_data("boolq", data_dir=fixtures, log=lambda *_: None)[0]["train"]
    labels = [r["label"] for r in train if r["idx"] in few["idx"]]
    share = sum(r["label"] for r in train) / len(train)
    assert abs(sum(labels) - 4 * share) <= 1  # stratified: the label mix of the full train split
    bad = _cli("--task", "boolq", "--data-dir", fixtures, "--train-size", "0", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "--train-size 0" in bad.stderr


# --- every task trains, scores and goes through both augmentation modes ----------------------


@pytest.mark.parametrize("task_name", sorted(TASKS))
def test_every_task_trains_a_step_and_scores_with_its_metrics(tmp_path, tiny_bert, fixtures, task_name, monkeypatch):
    from tests.reload_check import assert_reloads_the_same, saved_scores
    from training.reload import evaluate_run
    from training.protocol import open_data
    from training.runs import NOT_METRICS, run_seeds

    task = get_task(task_name)
    spec = TrainSpec(task=task_name, model=str(tiny_bert), epochs=1, batch_size=2, prefix_len=2, device="cpu",
                     embed_noise="pgd")
    saved = saved_scores(monkeypatch)
    summary = run_seeds(spec, [1], open_data(spec.task, data_dir=fixtures, log=lambda *_: None), out=tmp_path / "run", log=lambda *_: None)
    last = summary["summary"]["last"]
    assert set(task.metrics) <= set(last)
    assert all(0 <= last[m]["mean"] <= 100 for m in task.metrics)
    result = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())
    assert result["skipped_steps"] == 0
    assert evaluate_run(tmp_path / "run" / "seed-1", device="cpu") == {k: v for k, v in result["best"].items()
                                                                       if k not in NOT_METRICS}
    assert_reloads_the_same(tmp_path / "run" / "seed-1", saved)


@pytest.mark.slow
@pytest.mark.parametrize("task_name", sorted(TASKS))
def test_user_data_adversarial_build_without_victim_then_pairs_then_robustness(tmp_path, tiny_bert, fixtures,
                                                                                task_name, capsys):
    """From official-schema files alone: random and adversarial builds (the default victim is
    trained on these files), PTP training on each corpus, and TextAttack's robustness probe."""
    from augment import cli as augment_cli
    from augment.build import build_corpus
    from augment.common.corpus import load_corpus
    from augment.random_ops import RandomSpec
    from pipelines.robustness import textattack_attack
    from training.reload import run_data
    from training.protocol import open_data
    from training.runs import run_seeds
    from training.victim import RunVictim

    task = get_task(task_name)
    data_dir = fixtures / {"boolq": "BoolQ", "cb": "CB", "copa": "COPA", "multirc": "MultiRC", "record": "ReCoRD",
                           "rte": "RTE", "wic": "WiC", "wsc": "WSC"}[task_name]
    from augment.perturbers import RandomPerturber

    build_corpus(RandomPerturber(task_name, RandomSpec(rate=0.3)), out=tmp_path / "rand", data_dir=data_dir,
                 log=lambda *_: None)
    # In-process (TextAttack imports once per test session); a small query budget keeps it quick.
    recipe = "deepwordbug" if task_name in ("cb", "rte", "wsc") else "pwws"  # both recipes, both probes
    code = augment_cli.main(["build", "--task", task_name, "--mode", "adversarial", "--data-dir", str(data_dir),
                             "--out", str(tmp_path / "adv"), "--query-budget", "8", "--recipe", recipe],
                            standalone_mode=False)
    assert not code, capsys.readouterr().err[-2000:]
    assert f"victims/{task_name}_local_" in capsys.readouterr().out  # trained (or cached) on these files, and says so
    spec = TrainSpec(task=task_name, model=str(tiny_bert), epochs=1, batch_size=2, prefix_len=2, device="cpu")
    for corpus in ("rand", "adv"):
        data, manifest = load_corpus(tmp_path / corpus, task=task_name)
        for row in data["train"]:
            partner = {**row, **row["perturbed"]}
            # Untouched: what is not perturbable, COPA's question, ReCoRD's entities and placeholder.
            for f in set(task.text_fields) - set(task.perturbable):
                assert partner[f] == row[f]
            if task_name == "record":
                assert "@placeholder" in partner["query"]
                assert [partner["passage"][s["start"]:s["end"]] for s in partner["entity_spans"]] == row["entities"]
                assert candidate_names(task, partner) == candidate_names(task, row)
            if task_name == "copa":
                assert partner["question"] == row["question"] and partner["label"] == row["label"]
        if corpus == "adv":
            assert sum(manifest["summary"]["statuses"].values()) == len(data["train"])
            assert manifest["params"]["victim"].startswith(f"default:{task_name}_local_")
        summary = run_seeds(spec, [1], open_data(None, pairs=tmp_path / corpus, log=lambda *_: None), out=tmp_path / f"ptp-{corpus}", log=lambda *_: None)
        assert set(task.metrics) <= set(summary["summary"]["last"])
    victim = RunVictim(tmp_path / "ptp-adv" / "seed-1", "cpu")
    rows = run_data(task_name, victim.provenance)["validation"].to_list()
    if task_name == "record":
        with pytest.raises(PTPError, match="fixed set of outputs"):
            textattack_attack(task, rows, victim)
        return
    report = textattack_attack(task, rows, victim, recipe)
    n = len(rows)
    assert report["recipe"] == {"pwws": "PWWSRen2019", "deepwordbug": "DeepWordBugGao2018"}[recipe]
    assert report["rows"] == n and sum(report["statuses"].values()) == n
    assert report["original_accuracy"] == round(100 * (n - report["statuses"]["skipped"]) / n, 2)
    assert report["accuracy_under_attack"] == round(100 * report["statuses"]["failed"] / n, 2)


def test_record_rows_without_answers_are_refused_for_scoring(tmp_path, fixtures):
    from training.data import check_rows

    with pytest.raises(PTPError, match="no gold answers"):
        check_rows(get_task("record"), [{"answers": [], "entities": ["A"], "query_id": "q9"}], "validation")
