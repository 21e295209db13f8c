"""Multi-seed runs: one folder per seed and a summary over seeds (best and last epoch)."""
from __future__ import annotations

import contextlib
import json
import os
import statistics
from dataclasses import replace
from pathlib import Path

from augment.corpus import fingerprint_of, write_lock
from augment.errors import PTPError

from .config import TrainSpec
from .loop import load_training_data, train_one_seed


def default_run_dir(spec: TrainSpec, pairs) -> Path:
    label = Path(pairs).name if pairs else "vanilla"
    key = fingerprint_of({k: v for k, v in spec.to_dict().items() if k not in ("seed", "device")})
    return Path("runs") / f"{spec.task}_{label}_{spec.method}_{key[:8]}"


def summarise(results: list[dict]) -> dict:
    """mean, std (sample), min, max of each metric over seeds, for the best and the last epoch."""
    out = {}
    for which in ("best", "last"):
        keys = [k for k in results[0][which] if k not in ("epoch", "seconds", "train_loss")]
        out[which] = {}
        for key in keys:
            values = [r[which][key] for r in results]
            out[which][key] = {"mean": round(statistics.mean(values), 2),
                               "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
                               "min": min(values), "max": max(values), "values": values}
    return out


def run_seeds(spec: TrainSpec, seeds: list[int], out=None, pairs=None, source="auto", data_dir=None,
              eval_dir=None, force: bool = False, log=print) -> dict:
    """Train every seed (reusing finished seed folders with the same spec) and write summary.json."""
    out = Path(out) if out else default_run_dir(spec, pairs)
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").exists() and not any(out.glob("seed-*")):
        raise PTPError(f"{out}: exists and is not a ptp-train run folder; choose another --out")
    train_rows, val_rows, provenance = load_training_data(spec, pairs, source, data_dir, eval_dir, log=log)
    log(f"run folder: {out} ({len(train_rows)} train rows, {len(val_rows)} validation rows)")
    results = []
    # Under torchrun every process runs this; the main process alone locks and writes.
    main_process = int(os.environ.get("RANK", "0")) == 0
    with write_lock(out) if main_process else contextlib.nullcontext():
        for seed in seeds:
            seed_spec = replace(spec, seed=seed)
            folder = out / f"seed-{seed}"
            done = folder / "metrics.json"
            if done.exists() and not force:
                config = json.loads((folder / "config.json").read_text())
                if config["spec"] == seed_spec.to_dict() and config["provenance"] == provenance:
                    log(f"seed {seed}: reusing {folder}")
                    results.append(json.loads(done.read_text()))
                    continue
                raise PTPError(f"{folder}: holds a run with other settings; pass --force or another --out")
            results.append(train_one_seed(seed_spec, folder, train_rows, val_rows, provenance, log=log))
        summary = {"task": spec.task, "metric": results[0]["metric"], "seeds": seeds,
                   "spec": {k: v for k, v in spec.to_dict().items() if k != "seed"},
                   "provenance": provenance, "summary": summarise(results),
                   "note": "best = best validation epoch of each seed (as P-tuning v2 reports); "
                           "last = final epoch"}
        if main_process:
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
