"""Defects a new user hits on their own data: deterministic sources, reloading anywhere, adapters
that name their base model, victims the search cannot fool itself with, demos that stop."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from augment.common.errors import PTPError
from tests.tiny_models import make_tiny_bert
from training.config import TrainSpec


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


def _run(tmp_path, spec, data_dir, name="run", pairs=None):
    from training.protocol import open_data
    from training.runs import run_seeds

    return run_seeds(spec, [spec.seed], open_data(spec.task, data_dir=data_dir, pairs=pairs, log=lambda *_: None), out=tmp_path / name, log=lambda *_: None)


def test_auto_source_never_depends_on_the_network(monkeypatch, fixtures):
    import augment.common.hub_data as hub_data
    import augment.common.sources as sources
    from augment.common.tasks import get_task

    monkeypatch.setattr(hub_data, "_hub_reachable", lambda: True)  # even when the hub answers
    assert sources.pick_source(get_task("wic"), "auto", None) == "wordnet"
    assert sources.pick_source(get_task("rte"), "auto", fixtures / "RTE") == "local"
    with pytest.raises(PTPError, match="--source hub"):
        sources.pick_source(get_task("rte"), "auto", None)


def test_run_names_and_victim_caches_carry_the_data(tmp_path, fixtures):
    from training.protocol import data_identity
    from training.runs import default_run_dir
    from training.victim import default_victim_dir

    spec = TrainSpec(task="wic")
    copy = tmp_path / "wic"
    shutil.copytree(fixtures / "WiC", copy)
    (copy / "train.jsonl").write_text((copy / "train.jsonl").read_text().splitlines()[0] + "\n")
    assert "vanilla-wordnet" in default_run_dir(spec, data_identity("wic")).name
    assert "vanilla-local" in default_run_dir(spec, data_identity("wic", data_dir=fixtures / "WiC")).name
    assert default_run_dir(spec, data_identity("wic", data_dir=fixtures / "WiC")) != \
        default_run_dir(spec, data_identity("wic", data_dir=copy))
    assert default_victim_dir("wic").name.startswith("wic_wordnet_")
    assert default_victim_dir("wic", data_dir=fixtures / "WiC") != default_victim_dir("wic", data_dir=copy)


def test_a_cuda_run_reloads_on_cpu_and_its_adapter_names_its_base(tmp_path, tiny_bert, fixtures, monkeypatch):
    from tests.reload_check import assert_reloads_the_same, saved_scores
    from training.reload import evaluate_run

    saved = saved_scores(monkeypatch)
    spec = TrainSpec(task="rte", model=str(tiny_bert), epochs=1, batch_size=4, device="cpu", prefix_len=4)
    _run(tmp_path, spec, fixtures / "RTE")
    seed_dir = tmp_path / "run" / "seed-1"
    adapter = json.loads((seed_dir / "adapter" / "adapter_config.json").read_text())
    assert Path(adapter["base_model_name_or_path"]) == Path(tiny_bert).resolve()
    config = json.loads((seed_dir / "config.json").read_text())
    config["spec"]["device"] = "cuda"  # as written by a run on a GPU machine
    (seed_dir / "config.json").write_text(json.dumps(config))
    metrics = json.loads((seed_dir / "metrics.json").read_text())
    assert evaluate_run(seed_dir, device="cpu")["accuracy"] == metrics["best"]["accuracy"]
    assert_reloads_the_same(seed_dir, saved, device="cpu")


def test_swaps_the_victim_cannot_see_are_not_candidates():
    from augment.attack.recipes import parts
    from augment.attack.search import transformed

    transformation, pre, post = parts(0.25)
    from textattack.shared import AttackedText

    text = AttackedText("He sat on the bank of the river.")
    seen = [c.words[1] for c in transformed(transformation, text, text, [1], pre, post)]
    # WordNet offers "Sat" (Saturday): case kept, it is "sat" again, so no candidate at all.
    # ("pose" and "sit" are gone too: another sense, and the word's own base form.)
    assert "seat" in seen and not [w for w in seen if w.lower() in ("sat", "sit", "pose")]
    # A swap the victim's tokenizer maps to the ids of the word it replaces is no candidate either.
    blind = [c.words[1] for c in transformed(transformation, text, text, [1], pre, post,
                                             token_ids=lambda w: "sat" if w in ("sat", "seat") else w)]
    assert set(seen) - set(blind) == {"seat"}


class BatchSensitiveVictim:
    """Scores that move with the batch a text is sent in, as padding to the batch's longest text
    moves a real model's float sums; singletons are the reference."""

    unk_token = "[UNK]"

    def predict_proba(self, examples):
        out = []
        for ex in examples:
            score = sum(ex["sentence1"].lower().count(w) for w in ("sat", "bank", "the"))
            p = 1 / (1 + np.exp(-(score - 1.5))) + 1e-7 * (len(examples) - 1)
            out.append([1 - p, p])
        return np.array(out)


def test_recorded_confidences_do_not_depend_on_batch_or_chunk(tmp_path, fixtures):
    from augment.attack.run import attack_split
    from augment.attack.spec import AttackSpec
    from augment.common.sources import load_task_data
    from augment.common.tasks import get_task

    task = get_task("wic")
    train = load_task_data("wic", data_dir=fixtures / "WiC", log=lambda *_: None)[0]["train"]
    runs = []
    for batch, chunk in ((64, 64), (3, 2)):
        spec = AttackSpec(batch_size=batch, chunk_rows=chunk, max_change=0.5)
        runs.append(attack_split(task, train, BatchSensitiveVictim(), spec, tmp_path / f"w{batch}", progress=False)[0])
    assert runs[0] == runs[1]
    alone = BatchSensitiveVictim()
    for record in runs[0]:
        p = alone.predict_proba([train[record["row"]]])[0]
        assert record["attack"]["confidence_before"] == round(float(p[record["attack"]["label_before"]]), 5)


def test_adversarial_builds_ignore_the_random_seed(tmp_path, fixtures):
    from augment.build import build_corpus

    calls = []

    def splitter(task, train, seed, work):
        from augment.build import pair_features
        from datasets import Dataset

        calls.append(seed)
        rows = [{**r, "perturbed": {k: r[k] for k in task.input_fields},
                 "perturbation": {"ops": ["x"], "words_changed": 0, "changed": False, "attempts": 1, "variant": 0,
                                  "row": i}} for i, r in enumerate(train)]
        return Dataset.from_list(rows, features=pair_features(task))

    from augment.attack.spec import AttackSpec

    from augment.common.tasks import get_task
    from augment.perturbers import AdversarialPerturber

    class Toy(AdversarialPerturber):  # the search replaced by `splitter`: what is keyed is under test
        def pairs(self, train, work):
            return splitter(self.task, train, self.seed, work)

    spec = AttackSpec(victim="toy")
    _, first = build_corpus(Toy("wic", None, spec), out=tmp_path / "a", data_dir=fixtures / "WiC", log=lambda *_: None)
    _, again = build_corpus(Toy("wic", None, spec), out=tmp_path / "a", data_dir=fixtures / "WiC", log=lambda *_: None)
    assert get_task("wic").name == first["task"]
    assert again["fingerprint"] == first["fingerprint"] and len(calls) == 1  # a cache hit, not a rebuild
    assert first["seed"] is None


def test_the_demo_stops_at_the_first_failing_step(capsys):
    from augment.cli import main as augment_cli
    from pipelines.demo import run_cli

    with pytest.raises(PTPError, match="the demo stopped: `ptp-augment build --task nope"):
        run_cli(augment_cli, "ptp-augment", ["build", "--task", "nope", "--mode", "random"])
    assert "unknown task" in capsys.readouterr().err


def test_the_demo_verdict_counts_the_collapses_the_table_counts():
    """Seed 4 of rn-embed is above the floor but predicts one class for 97% of test: the table
    counts it collapsed, so the verdict must say 1/5, never 'every seed above the floor'."""
    from pipelines.demo import verdict
    from pipelines.stability import collapsed_count

    floor = {"rule": "always 'positive'", "accuracy": 58.79, "split": "test"}
    methods = {"vanilla": {"values": [65.7, 64.5, 63.3, 61.0, 66.4], "one_class_share": [0.6, 0.6, 0.7, 0.8, 0.6],
                           "vs_baseline": None},
               "rn-embed": {"values": [65.6, 64.2, 63.1, 60.2, 67.7], "one_class_share": [0.6, 0.6, 0.7, 0.97, 0.6],
                            "vs_baseline": None}}
    for row in methods.values():
        row.update(mean=64.0, std=2.0, collapsed=collapsed_count(row, floor, "accuracy"))
    table = {"metric": "accuracy", "baseline": "vanilla", "split": "test", "floor": floor, "methods": methods}
    vanilla, rn_embed = verdict(table)
    assert methods["rn-embed"]["collapsed"] == 1 and "collapsed 1/5" in rn_embed
    assert "every seed above" not in rn_embed and "none collapsed" not in rn_embed
    assert "none collapsed (every seed above the floor (58.79) and under 95% of test in one class)" in vanilla
    table["floor"] = None
    assert "collapsed 1/5 (>= 95% of test in one class)" in verdict(table)[1]


def test_training_learns_a_separable_task_and_leaves_the_encoder_frozen(tmp_path, tiny_bert, monkeypatch):
    """Label = whether the hypothesis says 'yes': a tiny random encoder's mean-pooled features
    separate it, so the prefix and head must learn it; the encoder must not move."""
    import training.loop as loop

    data = tmp_path / "toy"
    data.mkdir()
    rng = np.random.default_rng(0)
    words = ["cats", "dogs", "rain", "music", "trees", "bread", "rivers", "cars"]

    def rows(n, offset):
        out = []
        for i in range(n):
            label = i % 2
            premise = " ".join(rng.choice(words, 5))
            out.append({"premise": premise, "hypothesis": ("yes yes yes " if label else "no no no ") + premise,
                        "label": "entailment" if label else "not_entailment", "idx": offset + i})
        return out

    for name, n, offset in (("train", 64, 0), ("val", 32, 1000)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows(n, offset)))
    built = []
    real_build = loop.build_peft_model
    monkeypatch.setattr(loop, "build_peft_model", lambda *a, **k: built.append(real_build(*a, **k)) or built[-1])
    spec = TrainSpec(task="rte", model=str(tiny_bert), epochs=6, batch_size=8, lr=3e-2, device="cpu", prefix_len=4)
    summary = _run(tmp_path, spec, data)
    history = json.loads((tmp_path / "run" / "seed-1" / "metrics.json").read_text())["history"]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert summary["summary"]["best"]["accuracy"]["mean"] >= 90.0  # chance is 50
    from transformers import AutoModel

    fresh = AutoModel.from_pretrained(str(tiny_bert), add_pooling_layer=False).state_dict()
    trained = built[0].base_model.encoder.state_dict()
    assert fresh.keys() == trained.keys()
    assert all(torch.equal(fresh[k], trained[k]) for k in fresh)


def test_a_cls_prefix_adapter_loads_in_plain_transformers_and_peft(tmp_path, tiny_bert, fixtures):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from augment.common.sources import load_task_data
    from augment.common.tasks import get_task
    from training.data import render

    spec = TrainSpec(task="rte", model=str(tiny_bert), pooling="cls", epochs=2, batch_size=4, device="cpu",
                     prefix_len=4, lr=5e-2)
    _run(tmp_path, spec, fixtures / "RTE")
    seed_dir = tmp_path / "run" / "seed-1"
    metrics = json.loads((seed_dir / "metrics.json").read_text())
    # What a user outside this project types: the base model named in the adapter, then the adapter.
    base = json.loads((seed_dir / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    model = PeftModel.from_pretrained(model, str(seed_dir / "adapter")).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    task = get_task("rte")
    rows = load_task_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None)[0]["validation"].to_list()
    segments = [render(task, r)[0] for r in rows]
    enc = tokenizer(*zip(*segments), padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    ours = []
    from training.objective import forward_scores
    from training.reload import load_run
    from training.data import Collator, encode_rows

    _, _, reloaded, tok = load_run(seed_dir)
    batch = Collator(tok.pad_token_id, 2)(encode_rows(tok, task, rows, 128))
    with torch.no_grad():
        ours = forward_scores(reloaded, batch["clean"])
    assert torch.allclose(logits, ours, atol=1e-5)  # the same model, logit for logit
    accuracy = 100 * sum(int(p == r["label"]) for p, r in zip(logits.argmax(-1).tolist(), rows)) / len(rows)
    assert round(accuracy, 2) == metrics["best"]["accuracy"]
