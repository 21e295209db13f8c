"""Multi-seed runs: one folder per seed and a summary over seeds (best and last epoch)."""
from __future__ import annotations

import contextlib
import json
import os
import statistics
from dataclasses import replace
from pathlib import Path

from augment.common.corpus import fingerprint_of, write_lock
from augment.common.errors import PTPError

from .config import TrainSpec
from .loop import record_config, same_run, train_one_seed
from .protocol import TrainingData, load_training_data


def default_run_dir(spec: TrainSpec, identity: dict) -> Path:
    """runs/<task>_<corpus or vanilla-source>_<method>_<hash of the spec and the data's identity>."""
    label = Path(identity["pairs"]).name if "pairs" in identity else f"vanilla-{identity['source']}"
    key = fingerprint_of({"spec": {k: v for k, v in spec.to_dict().items() if k not in ("seed", "device")},
                          "data": identity})
    return Path("runs") / f"{spec.task}_{label}_{spec.method}_{key[:8]}"


NOT_METRICS = ("epoch", "seconds", "train_loss", "grad_norm", "clipped_steps")


def seed_folders(run: Path) -> list[Path]:
    """The seed-N folders of a multi-seed run folder, by seed; [run] for a seed folder itself."""
    run = Path(run)
    if (run / "adapter").is_dir() or not (run / "summary.json").is_file():
        return [run]
    seeds = sorted(run.glob("seed-*"), key=lambda f: int(f.name.split("-")[1]) if f.name[5:].isdigit() else 0)
    if not seeds:
        raise PTPError(f"{run}: a run folder without finished seed-* folders")
    return seeds


def describe(values: list[float]) -> dict:
    return {"mean": round(statistics.mean(values), 2),
            "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "values": values}


def summarise(results: list[dict]) -> dict:
    """mean, std (sample), min, max of each validation metric over seeds, for the best
    (validation-selected) and the last epoch."""
    out = {}
    for which in ("best", "last"):
        keys = [k for k in results[0][which] if k not in NOT_METRICS]
        out[which] = {key: describe([r[which][key] for r in results]) for key in keys}
    return out


def report(results: list[dict], validation: dict) -> dict:
    """The reported figures: test metrics at the validation-selected epoch ("selected") and at the
    last epoch, over seeds; validation's own when there is no labelled test (flagged)."""
    if all(r.get("test") for r in results):
        return {"split": "test", "rows": results[0]["test_rows"],
                "selected": {k: describe([r["test"]["best"][k] for r in results]) for k in results[0]["test"]["best"]},
                "last": {k: describe([r["test"]["last"][k] for r in results]) for k in results[0]["test"]["last"]}}
    return {"split": "validation", "rows": results[0]["validation_rows"], "selected": validation["best"],
            "last": validation["last"],
            "warning": "no labelled test split: these figures were selected and reported on the same split"}


def run_seeds(spec: TrainSpec, seeds: list[int], data: TrainingData, out=None, force: bool = False, log=print,
              track: str = "auto") -> dict:
    """Train every seed on `data` (protocol.open_data) reusing finished seed folders with the same
    spec, resuming interrupted ones, and write summary.json. `force` retrains from scratch."""
    out = Path(out) if out else default_run_dir(spec, data.identity)
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").exists() and not any(out.glob("seed-*")) \
            and not any(out.glob(".seed-*.partial")):
        raise PTPError(f"{out}: exists and is not a ptp-train run folder; choose another --out")
    train_rows, val_rows, test_rows, provenance = load_training_data(spec, data, log=log)
    log(f"run folder: {out} ({len(train_rows)} train rows, {len(val_rows)} validation rows (selects), "
        f"{len(test_rows) if test_rows else 'no'} test rows (reports))")
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
                now = {"spec": seed_spec.to_dict(), "provenance": provenance}
                if same_run(config, now):
                    log(f"seed {seed}: reusing {folder}")
                    if main_process:
                        record_config(folder / "config.json", now)
                    results.append(json.loads(done.read_text()))
                    continue
                raise PTPError(f"{folder}: holds a run with other settings; pass --force or another --out")
            results.append(train_one_seed(seed_spec, folder, train_rows, val_rows, provenance, test_rows, log=log,
                                          track=track, resume=not force))
        validation = summarise(results)
        summary = {"task": spec.task, "metric": results[0]["metric"], "seeds": seeds,
                   "spec": {k: v for k, v in spec.to_dict().items() if k != "seed"},
                   "provenance": provenance, "protocol": provenance["protocol"], "summary": validation,
                   "report": report(results, validation),
                   # Per seed, for collapse: the share of the reported split put in one class at the
                   # selected epoch (None for runs that did not record it, or without a test split),
                   # and the steps skipped as not finite.
                   "one_class_share": [((r.get("test") or {}).get("one_class_share") or {}).get("best") for r in results],
                   "skipped_steps": [r["skipped_steps"] for r in results],
                   "note": "summary: validation metrics at the best validation epoch of each seed (best) and "
                           "at the final epoch (last); report: the reported split's metrics at those epochs"}
        if main_process:
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
