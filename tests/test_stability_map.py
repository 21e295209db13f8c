"""The stability map: vanilla over learning rate x training length x prompt length, with the
collapse rate per cell, runs reused, and validation scored every N epochs on long runs."""
import json
import os
import subprocess
import sys

import pytest

from pipelines.stability_map import run_collapsed, summarise_cell
from pipelines.stats import COLLAPSE_SHARE
from tests.conftest import ROOT
from tests.tiny_models import make_tiny_bert


def _run(seed, best, last, share, epoch=1, skipped=0):
    return {"seed": seed, "best": {"epoch": epoch}, "skipped_steps": skipped,
            "test": {"best": {"accuracy": best}, "last": {"accuracy": last}, "one_class_share": {"best": share}}}


def test_a_run_collapses_at_the_floor_or_in_one_class():
    assert run_collapsed(_run(1, 55.0, 55.0, 0.6), floor=55.0, metric="accuracy")  # at the majority floor
    assert run_collapsed(_run(1, 70.0, 70.0, COLLAPSE_SHARE), floor=55.0, metric="accuracy")  # one class
    assert not run_collapsed(_run(1, 70.0, 70.0, 0.6), floor=55.0, metric="accuracy")
    cell = summarise_cell([_run(1, 70.0, 60.0, 0.6, epoch=3), _run(2, 54.0, 54.0, 1.0), _run(3, 66.0, 66.0, 0.5)],
                          "accuracy", 55.0)
    assert (cell["collapsed"], cell["collapse_rate"], cell["selected_epochs"]) == (1, 0.333, [3, 1, 1])
    assert cell["drop"] == pytest.approx((10 + 0 + 0) / 3, abs=0.01) and cell["std"] > 0


@pytest.mark.slow
def test_the_map_trains_every_cell_reports_collapse_and_reuses_runs(tmp_path):
    model = make_tiny_bert(tmp_path / "bert")
    args = [sys.executable, "-m", "pipelines.cli", "map", "--task", "rte", "--data-dir", ROOT / "tests" / "fixtures" / "RTE",
            "--model", model, "--batch-size", "4", "--lrs", "1e-2,3e-2", "--budgets", "1,3", "--prefix-lens", "2",
            "--eval-every", "2", "--holdout", "0.25", "--seeds", "1,2", "--track", "none", "--out", tmp_path / "map"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    result = json.loads((tmp_path / "map" / "results.json").read_text())
    assert set(result["cells"]) == {f"lr={lr}_epochs={e}_prefix=2" for lr in ("0.01", "0.03") for e in (1, 3)}
    for cell in result["cells"].values():
        assert len(cell["selected"]) == 2 and 0 <= cell["collapse_rate"] <= 1
        # 3 epochs scored every 2: epochs 2 and 3 (the last) can be selected, never 1.
        assert set(cell["selected_epochs"]) <= ({1} if cell["epochs"] == 1 else {2, 3})
    seed = json.loads((tmp_path / "map" / "runs" / "lr=0.03_epochs=3_prefix=2" / "seed-1" / "metrics.json").read_text())
    assert [h["epoch"] for h in seed["history"] if "accuracy" in h] == [2, 3]
    assert 0 < seed["test"]["one_class_share"]["best"] <= 1
    assert "collapsed" in (tmp_path / "map" / "report.md").read_text() and (tmp_path / "map" / "map.png").stat().st_size
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    assert again.returncode == 0 and again.stdout.count("reusing") == 8  # 4 cells x 2 seeds
    # A grid grown by a budget not yet run: --finished-only reports the 4 finished cells, names the
    # 2 others, and trains nothing.
    grown = [*args[:args.index("--budgets") + 1], "1,3,5", *args[args.index("--budgets") + 2:], "--finished-only"]
    partial = subprocess.run(grown, capture_output=True, text=True, cwd=ROOT, env=env)
    assert partial.returncode == 0, partial.stderr[-3000:]
    result = json.loads((tmp_path / "map" / "results.json").read_text())
    assert len(result["cells"]) == 4 and result["grid"]["budgets"] == [1, 3, 5]
    assert result["unfinished"] == ["lr=0.01_epochs=5_prefix=2", "lr=0.03_epochs=5_prefix=2"]
    assert not (tmp_path / "map" / "runs" / "lr=0.01_epochs=5_prefix=2").exists()
    assert "Not finished yet, left out: lr=0.01_epochs=5_prefix=2" in (tmp_path / "map" / "report.md").read_text()
    nothing = subprocess.run([*grown[:grown.index("--out") + 1], tmp_path / "empty", "--finished-only"],
                             capture_output=True, text=True, cwd=ROOT, env=env)
    assert nothing.returncode == 2 and "no cell of this grid has all its seeds finished" in nothing.stderr
    assert "Traceback" not in nothing.stderr
