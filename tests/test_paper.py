"""`ptp-pipeline paper`: the paper's grid on all eight SuperGLUE tasks at a tiny size (a tiny BERT
built from a config, the fixture SuperGLUE folders), through the default path and through Ray
started locally with 2 CPUs (the same results.json numbers), resumed after a kill, and bad input
refused in one line before anything trains."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.tiny_models import make_tiny_bert

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
# CB, MultiRC and ReCoRD have no published setting: the command asks for these.
UNPUBLISHED = [f"--set={t}.{k}={v}" for t in ("cb", "multirc", "record")
               for k, v in (("lr", "1e-2"), ("prefix_len", "4"), ("batch_size", "4"))]


def grid_command(model, out, *more):
    return [sys.executable, "-m", "pipelines.cli", "paper", "--model", str(model), "--data-dir", str(FIXTURES),
            "--tasks", "all", "--methods", "vanilla,rn-embed", "--seeds", "1,2", "--epochs", "1", "--no-sweep",
            "--out", str(out), "--device", "cpu", "--holdout", "0.5", "--settings-model", "bert-large",
            *UNPUBLISHED, *map(str, more)]


def env():  # read when a command starts: a Ray started by this process adds what joining it needs
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def run(command, timeout=600):
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env(), timeout=timeout)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "bert")


@pytest.fixture(scope="module")
def default_grid(tmp_path_factory, tiny_bert):
    out = tmp_path_factory.mktemp("paper") / "default"
    res = run(grid_command(tiny_bert, out))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out, res.stdout + res.stderr


def numbers(out: Path) -> dict:
    from pipelines.paper_report import numbers

    return numbers(json.loads((out / "results.json").read_text()))


def test_settings_file_names_a_source_for_every_row():
    from pipelines.paper_plan import SETTINGS_FILE, TASKS

    settings = yaml.safe_load(SETTINGS_FILE.read_text())
    for model in ("bert-large", "roberta-large"):
        rows = settings["settings"][model]
        assert set(rows) == set(TASKS)
        for task, row in rows.items():
            if task in ("cb", "multirc", "record"):
                assert row["published"] is False and "no published setting" in row["note"]
                continue
            kind = "bert" if model == "bert-large" else "roberta"
            assert row["run_script"] == f"run_script/run_{task}_{kind}.sh"
            assert {"lr", "prefix_len", "epochs", "batch_size", "dropout", "pooling"} <= set(row)
    assert settings["settings"]["roberta-large"]["rte"]["prefix_len"] == 128  # spot checks against the scripts
    assert settings["settings"]["bert-large"]["wic"]["prefix_projection"] is True
    assert "one seed, best epoch on the reported split" in settings["reference"]["label"]


def same_runs(a: Path, b: Path) -> int:
    """The seed folders under `a` and `b` (the same relative paths, at least one) hold the same
    runs: every metric of every seed and epoch exactly equal (times aside), and the saved adapter
    tensors bit for bit. Returns how many seeds were compared."""
    from safetensors.torch import load_file

    def seeds(root):
        return sorted(p.parent.relative_to(root) for p in root.glob("**/seed-*/metrics.json"))

    def timeless(value):
        if isinstance(value, dict):
            return {k: timeless(v) for k, v in value.items() if k != "seconds"}
        return [timeless(v) for v in value] if isinstance(value, list) else value

    assert seeds(a) and seeds(a) == seeds(b), (seeds(a), seeds(b))
    for seed in seeds(a):
        first, second = (timeless(json.loads((root / seed / "metrics.json").read_text())) for root in (a, b))
        assert first == second, seed
        x, y = (load_file(str(root / seed / "adapter" / "adapter_model.safetensors")) for root in (a, b))
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), f"{seed}: adapters differ"
    return len(seeds(a))


@pytest.mark.slow
def test_grid_on_all_eight_tasks_writes_the_paper_table(default_grid):
    out, log = default_grid
    result = json.loads((out / "results.json").read_text())
    assert result["tasks"] == ["boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc"]
    assert log.count("epoch 1: train_loss") == 8 * 2 * 2  # tasks x methods x seeds, each once
    for task in result["tasks"]:
        assert result["splits"][task]["split"] == "test"  # official validation reports; train's holdout selects
        for name in ("vanilla", "rn-embed"):
            row = result["table"][task][name]
            assert len(row["values"]) == 2 and row["runs"] == 2 and 0 <= row["collapsed"] <= 2
        assert result["table"][task]["rn-embed"]["vs_baseline"]["seeds"] == 2
    # The SuperGLUE average: per seed, the mean of the task scores (CB, MultiRC, ReCoRD: of two metrics).
    per_seed = [sum(result["table"][t]["vanilla"]["values"][i] for t in result["tasks"]) / 8 for i in range(2)]
    assert result["average"]["vanilla"]["values"] == pytest.approx(per_seed, abs=1e-3)
    cb = json.loads((out / "cb" / "results.json").read_text())["runs"]["vanilla"]["report"]["selected"]
    assert result["table"]["cb"]["vanilla"]["values"][0] == pytest.approx(
        (cb["accuracy"]["values"][0] + cb["f1_macro"]["values"][0]) / 2, abs=1e-3)
    settings = result["settings"]
    assert settings["rte"]["source"] == "run_script/run_rte_bert.sh" and settings["rte"]["lr"] == 0.01
    assert settings["rte"]["epochs"] == 1 and "epochs" in settings["rte"]["from_flags"]  # --epochs: every task
    assert "no published setting" in settings["cb"]["source"] and settings["cb"]["prefix_len"] == 4
    report = (out / "report.md").read_text()
    assert "| P-tuning v2 bert-large (published) | 74.3 | — | 77.0 |" in report
    assert "Collapsed runs" in report and "Gain over vanilla" in report
    assert "mean +- std over seeds 1,2 at" in report and "{" not in report  # no unformatted placeholder
    assert (out / "paper.png").stat().st_size > 1000


@pytest.mark.slow
def test_ray_engine_gives_the_same_numbers_as_the_default_path(default_grid, tiny_bert, tmp_path):
    pytest.importorskip("ray")
    out, _ = default_grid
    res = run(grid_command(tiny_bert, tmp_path / "ray", "--engine", "ray", "--ray-cpus", 2))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert "32 to train" in log and "ray: finished" in log
    ray_result = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert ray_result["meta"]["engine"] == "ray"
    assert numbers(tmp_path / "ray") == numbers(out)
    assert same_runs(tmp_path / "ray", out) == 32  # per seed: every metric, and the adapters bit for bit
    default = json.loads((out / "results.json").read_text())["meta"]["seconds"]
    print(f"Ray wall time / default path's on the tiny grid: {ray_result['meta']['seconds'] / default:.2f}")


@pytest.mark.slow
def test_a_killed_grid_resumes_reusing_finished_runs(default_grid, tiny_bert, tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen(grid_command(tiny_bert, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=ROOT, env=env())
    deadline = time.time() + 300
    while len(list(out.glob("*/runs/*/seed-*/metrics.json"))) < 6 and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(list(out.glob("*/runs/*/seed-*/metrics.json")))
    assert 6 <= done < 32
    res = run(grid_command(tiny_bert, out))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert log.count(": reusing ") >= done  # (every finished seed again in the report pass)
    assert log.count("epoch 1: train_loss") == 32 - done
    assert numbers(out) == numbers(default_grid[0])
    assert (out / "report.md").read_text() == (default_grid[0] / "report.md").read_text()


def _refused(args, tiny_bert, tmp_path, monkeypatch=None):
    from click.testing import CliRunner

    from pipelines.cli import main

    out = tmp_path / "never"
    res = CliRunner().invoke(main, ["paper", "--model", str(tiny_bert), "--out", str(out), "--device", "cpu", *args])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert not out.exists()  # nothing trained, nothing written
    return lines[0]


def test_bad_input_is_one_line_before_anything_trains(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    some = shutil.copytree(FIXTURES, tmp_path / "superglue", ignore=shutil.ignore_patterns("WSC", "run-configs*"))
    grid = ["--data-dir", str(some), "--epochs", "1", "--no-sweep", "--settings-model", "bert-large", *UNPUBLISHED]
    assert "WSC/train.jsonl" in _refused(grid, tiny_bert, tmp_path)
    full = ["--data-dir", str(FIXTURES), "--tasks", "rte,wic"]
    line = _refused(full, tiny_bert, tmp_path)  # a tiny BERT matches no settings row
    assert "no settings row" in line and "--settings-model bert-large" in line and "--lr V" in line
    line = _refused(["--data-dir", str(FIXTURES), "--tasks", "cb", "--settings-model", "bert-large"], tiny_bert, tmp_path)
    assert "published no setting for cb" in line and "--set cb.lr=V" in line
    assert "--tasks" in _refused(["--data-dir", str(FIXTURES), "--tasks", "rte,glue"], tiny_bert, tmp_path)
    line = _refused([*full, "--seeds", "1,2", "--sweep-seeds", "2,3"], tiny_bert, tmp_path)
    assert "disjoint" in line
    line = _refused([*full, "--settings-model", "bert-large", "--model", "bert-large-cased"], tiny_bert, tmp_path)
    assert "cannot be loaded offline" in line
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    line = _refused([*full, "--settings-model", "bert-large", "--engine", "ray"], tiny_bert, tmp_path)
    assert "Ray is not installed" in line and "[ray]" in line


@pytest.mark.slow
def test_fewglue_grid_sweeps_on_train_seeds_disjoint_from_the_reported_ones(tiny_bert, tmp_path):
    """FewGLUE mode: train from FewGLUE's train.jsonl, SuperGLUE's val.jsonl reports; rn-embed's
    sigma swept on the holdout over seeds 11,12, the pick run on seeds 1,2. (The sweep's runs as
    Ray plans them: engine.sweep_runs, checked against the sweep's own loop below.)"""
    fewglue = tmp_path / "FewGLUE" / "RTE"
    fewglue.mkdir(parents=True)
    shutil.copy(FIXTURES / "RTE" / "train.jsonl", fewglue)
    out = tmp_path / "out"
    res = run([sys.executable, "-m", "pipelines.cli", "paper", "--model", tiny_bert, "--data-dir", FIXTURES,
               "--fewglue", tmp_path / "FewGLUE", "--tasks", "rte", "--methods", "vanilla,rn-embed", "--seeds", "1,2",
               "--sweep-seeds", "11,12", "--grid", "rn-embed:sigma=0.01,0.5", "--epochs", "1", "--device", "cpu",
               "--holdout", "0.5", "--settings-model", "roberta-large", "--out", out])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    sweep = json.loads((out / "rte" / "sweep" / "rn-embed" / "sweep.json").read_text())
    assert sweep["seeds"] == [11, 12] and len(sweep["points"]) == 2 and sweep["selected_on"] == "validation"
    assert result["sweeps"]["rte"]["rn-embed"]["picked"] == sweep["picked"]["setting"]
    spec = json.loads((out / "rte" / "results.json").read_text())["runs"]["rn-embed"]["spec"]
    assert spec["sigma"] == sweep["picked"]["setting"]["sigma"] and spec["holdout"] == 0.5
    assert "vanilla" not in result["sweeps"]["rte"]  # the baseline keeps P-tuning v2's setting
    provenance = json.loads((out / "rte" / "runs" / "vanilla" / "seed-1" / "config.json").read_text())["provenance"]
    assert provenance["evaluation"]["location"] == str(FIXTURES / "RTE") and "FewGLUE" in provenance["source"]["location"]
    assert result["settings"]["rte"]["source"] == "run_script/run_rte_roberta.sh"
    from pipelines.paper_plan import Request, plan, sweep_runs
    from pipelines.presets import PRESETS

    methods = {m: PRESETS[m] for m in ("vanilla", "rn-embed")}
    grid = plan(Request(str(tiny_bert), FIXTURES, "rte", methods, [1, 2], out, {"epochs": 1, "device": "cpu", "holdout": 0.5},
                        grids=["rn-embed:sigma=0.01,0.5"], sweep_seeds=[11, 12], fewglue=tmp_path / "FewGLUE",
                        named_model="roberta-large"))
    planned = sweep_runs(grid, "rte")
    trained = sorted(str(p.parent) for p in (out / "rte" / "sweep").glob("*/runs/*/seed-*/metrics.json"))
    assert sorted(f"{r.folder}/seed-{r.seed}" for r in planned) == trained


@pytest.mark.slow
def test_stability_sweep_and_map_plan_the_runs_their_loops_train(tiny_bert, tmp_path):
    """`--engine` on the other grids: the runs a Ray engine trains ahead (engine.*_runs) are exactly
    the seed folders each command's own loop trains, so its report pass finds them all finished;
    and `map --engine ray` (the grid least like the others) gives the default path's numbers."""
    from click.testing import CliRunner

    from pipelines.cli import main
    from pipelines.engine import data_args, map_runs, stability_runs, sweep_runs
    from pipelines.presets import PRESETS
    from training.config import TrainSpec

    common = ["--task", "rte", "--data-dir", str(FIXTURES / "RTE"), "--model", str(tiny_bert), "--epochs", "1",
              "--batch-size", "4", "--holdout", "0.5", "--device", "cpu", "--track", "none", "--seeds", "1,2"]
    base = TrainSpec(task="rte", model=str(tiny_bert), epochs=1, batch_size=4, holdout=0.5, device="cpu")
    data = data_args("auto", FIXTURES / "RTE")
    methods = {m: PRESETS[m] for m in ("vanilla", "rn-embed")}
    plans = {"stability": (["--methods", "vanilla,rn-embed"],
                           lambda out: stability_runs("rte", [1, 2], methods, out, base, data)),
             "sweep": (["--method", "rn-embed", "--grid", "sigma=0.01,0.05", "--presets-out", str(tmp_path / "p.json")],
                       lambda out: sweep_runs("rte", "rn-embed", PRESETS["rn-embed"], {"sigma": [0.01, 0.05]}, [1, 2],
                                              out, base, data)),
             "map": (["--lrs", "1e-2", "--budgets", "1", "--prefix-lens", "4"],
                     lambda out: map_runs(base, [1e-2], [1], [4], [1, 2], out, data))}
    for name, (args, planned) in plans.items():
        out = tmp_path / name
        res = CliRunner().invoke(main, [name, *common, *args, "--out", str(out)])
        assert res.exit_code == 0, res.output[-3000:]
        trained = sorted(str(p.parent) for p in out.glob("runs/*/seed-*/metrics.json"))
        runs = planned(out)
        assert sorted(f"{r.folder}/seed-{r.seed}" for r in runs) == trained, name
        for r in runs:  # the same settings: a planned run finds its folder's seed finished
            config = json.loads((Path(r.folder) / f"seed-{r.seed}" / "config.json").read_text())["spec"]
            spec = {**r.base.to_dict(), **r.preset["train"], "seed": r.seed}
            assert all(config[k] == v for k, v in spec.items() if k in config), (name, r.name)
    pytest.importorskip("ray")
    res = run([sys.executable, "-m", "pipelines.cli", "map", *common, *plans["map"][0], "--out", tmp_path / "map-ray",
               "--engine", "ray", "--ray-cpus", "2"])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "2 to train" in res.stdout
    cells = lambda out: json.loads((out / "results.json").read_text())["cells"]  # noqa: E731
    assert cells(tmp_path / "map-ray") == cells(tmp_path / "map")
    # Per seed, not only the rounded cells: every metric of every epoch, and the adapters bit for bit.
    assert same_runs(tmp_path / "map-ray", tmp_path / "map") == 2
