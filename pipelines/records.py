"""Per-seed records: what a write-up commits of every run it reports, so that its figures can be
checked without the run folders (adapters and logs stay out of git).

`gather(out, dest)` finds every finished seed under an experiment's folder (.../seed-N/metrics.json)
and writes DEST/<its path under OUT, less `runs/`>.json (a `runs/` folder is git-ignored, and a
record is there to be committed): the run's settings and data identity, its validation
figures at every epoch it evaluated and at the selected one, its test figures at the selected and
the last epoch with the share of test put in one class, the precision, the prompt mechanism, the
hardware (CPU model and flags, torch, commit) and its time. A few KB a run.
"""
from __future__ import annotations

import json
from pathlib import Path

from augment.common.atomic import replace_file

KEPT = ("task", "seed", "metric", "best", "last", "test", "test_rows", "train_rows", "validation_rows", "history",
        "mixed_precision", "mechanism", "hardware", "seconds", "skipped_steps", "adapter_epoch", "processes", "device")


def record(seed_folder: Path) -> dict:
    metrics = json.loads((seed_folder / "metrics.json").read_text())
    config = json.loads((seed_folder / "config.json").read_text())
    return {**{k: metrics[k] for k in KEPT if k in metrics}, "spec": config["spec"], "provenance": config.get("provenance")}


def gather(out: Path, dest: Path) -> list[Path]:
    """A record per finished seed under `out`, at DEST/<relative path of the seed folder, less
    `runs/`>.json: DEST/draw-0/vanilla/seed-1.json."""
    out, dest = Path(out), Path(dest)
    written = []
    for metrics in sorted(out.rglob("seed-*/metrics.json")):
        folder = metrics.parent
        target = dest / Path(*[p for p in folder.relative_to(out).parts if p != "runs"]).with_suffix(".json")
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, json.dumps(record(folder), indent=1) + "\n")
        written.append(target)
    return written
