"""Figures in the README and the docs are written from their JSON (pipelines/figures.py): none is
stale, every block names a known figure, and a changed JSON makes the check fail."""
import json
import shutil
import subprocess
import sys

from pipelines.figures import FIGURES, refresh
from tests.conftest import ROOT


def test_every_figure_matches_its_json():
    assert refresh(ROOT, check=True) == [], "run `ptp-pipeline figures` and commit the rewritten blocks"


def test_the_readme_quotes_every_readme_figure():
    readme = (ROOT / "README.md").read_text()
    for name in ("demo", "claim-32", "regimes", "benchmarks", "encoders"):
        assert f"<!-- figure: {name} -->" in readme
    quoted = "".join(p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
    assert all(f"<!-- figure: {name} -->" in quoted for name in FIGURES)  # no renderer left unused


def test_a_changed_json_makes_its_figure_stale_and_the_command_rewrites_it(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("*.png", "runs"))
    shutil.copytree(ROOT / "benchmarks" / "results", root / "benchmarks" / "results")
    shutil.copy(ROOT / "README.md", root / "README.md")
    path = root / "benchmarks" / "results" / "random_vs_nlpaug.json"
    data = json.loads(path.read_text())
    data["ptp_augment_rows_per_s"] += 1000
    path.write_text(json.dumps(data))
    stale = ["README.md: benchmarks", "docs/benchmarks.md: random-mode"]
    assert refresh(root, check=True) == stale
    assert refresh(root) == stale
    assert f"{data['ptp_augment_rows_per_s']:,.0f} rows/s" in (root / "README.md").read_text()
    assert refresh(root, check=True) == []


def test_figures_check_command_exit_code():
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "figures", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every figure matches its JSON" in done.stdout
