"""The seed spread epoch by epoch (pipelines/epochs.py, `ptp-pipeline epochs`), from run folders
and from per-seed records alike, at a tiny size."""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_epochs_reads_every_runs_history_and_gives_spread_collapse_and_within_draw_ratio(tmp_path, fixtures):
    from tests.tiny_models import make_tiny_bert

    tiny_bert = make_tiny_bert(tmp_path / "bert")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    grid = tmp_path / "grid"
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "stability", "--task", "rte", "--data-dir",
                           fixtures / "RTE", "--model", tiny_bert, "--epochs", "3", "--eval-every", "1",
                           "--batch-size", "2", "--train-size", "4", "--sample-seeds", "0,1", "--seeds", "1,2,3",
                           "--methods", "vanilla,rn-embed", "--track", "none", "--out", grid],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    records = tmp_path / "records"
    assert subprocess.run([sys.executable, "-m", "pipelines.cli", "records", grid, records], cwd=ROOT, env=env,
                          capture_output=True).returncode == 0
    # A record is there to be committed: none lands where git ignores it (a runs/ folder is).
    written = sorted(p.relative_to(records) for p in records.rglob("*.json"))
    assert len(written) == 12 and Path("draw-0/vanilla/seed-1.json") in written
    ignored = subprocess.run(["git", "check-ignore", *[f"docs/some-cell/records/{p}" for p in written]], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.returncode == 1 and not ignored.stdout, ignored.stdout
    outs = {}
    for name, source in (("from-runs", grid), ("from-records", records)):
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", "epochs", source, "--out", tmp_path / name],
                              capture_output=True, text=True, cwd=ROOT, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        outs[name] = json.loads((tmp_path / name / "epochs.json").read_text())
        assert (tmp_path / name / "epochs.png").stat().st_size > 0
        assert "| rn-embed | 3 |" in (tmp_path / name / "epochs.md").read_text()
    assert outs["from-runs"] == outs["from-records"]
    result = outs["from-runs"]
    assert result["runs"] == 6 and result["draws"] == [0, 1] and set(result["methods"]) == {"vanilla", "rn-embed"}
    for method, rows in result["methods"].items():
        assert [r["epoch"] for r in rows] == [1, 2, 3]
        for row in rows:  # recomputed from every seed's own history
            values, floors = [], []
            for draw in (0, 1):
                for seed in (1, 2, 3):
                    metrics = json.loads((grid / f"draw-{draw}" / "runs" / method / f"seed-{seed}" / "metrics.json")
                                         .read_text())
                    values.append(next(h["accuracy"] for h in metrics["history"] if h["epoch"] == row["epoch"]))
                    floors.append(result["floors"][str(draw)])
            assert row["std"] == pytest.approx(statistics.stdev(values), abs=0.01)
            assert (row["min"], row["max"]) == (min(values), max(values))
            assert row["collapsed"] == sum(v <= f for v, f in zip(values, floors))
            assert ("within_std_ratio" in row) == (method == "rn-embed")
    # The floor is validation's majority class of each draw's training rows, as a sweep's is.
    from pipelines.stability import floor_of
    from training.config import TrainSpec
    from training.protocol import open_data

    data = open_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None)
    for draw in (0, 1):
        floor = floor_of(TrainSpec(task="rte", train_size=4, sample_seed=draw), data, selection=True)
        assert floor["split"] == "validation" and result["floors"][str(draw)] == floor["accuracy"]
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "epochs", records, "--out", tmp_path / "x",
                          "--baseline", "nope"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2 and "no nope runs" in bad.stderr and "Traceback" not in bad.stderr
