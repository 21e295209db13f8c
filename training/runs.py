"""Multi-seed runs: one folder per seed and a summary over seeds (best and last epoch)."""
from __future__ import annotations

import contextlib
import json
import os
import statistics
from dataclasses import replace
from pathlib import Path

from augment.common.atomic import replace_file
from augment.common.corpus import fingerprint_of, free_lock, write_lock
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


# What each --method may have run, as a finished seed records it (metrics.json `mechanism`). Before
# training/kv_prefix.py, `--method prefix` ran VPT-deep ("deep") on MPNet, DeBERTa and DistilBERT:
# such a seed has the same spec as today's key/value-prefix run but is another run, so it is not reused.
MECHANISMS = {"prefix": ("prefix", "kv-prefix")}

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
              track: str = "auto", wait: bool = True) -> dict | None:
    """Train every seed on `data` (protocol.open_data) reusing finished seed folders with the same
    spec, resuming interrupted ones, and write summary.json. `force` retrains from scratch.

    Seeds are claimed one at a time (a lock file per seed), so processes given the same run share
    its seeds: start the same command twice and each trains the seeds the other does not hold, then
    waits for the other's before the summary; with `wait=False` it returns None instead (no
    summary), to go on with other work first. `force` retrains the seeds this process claims."""
    from filelock import FileLock

    out = Path(out) if out else default_run_dir(spec, data.identity)
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").exists() and not any(out.glob("seed-*")) \
            and not any(out.glob(".seed-*.partial")):
        raise PTPError(f"{out}: exists and is not a ptp-train run folder; choose another --out")
    train_rows, val_rows, test_rows, provenance = load_training_data(spec, data, log=log)
    log(f"run folder: {out} ({len(train_rows)} train rows, {len(val_rows)} validation rows (selects), "
        f"{len(test_rows) if test_rows else 'no'} test rows (reports))")
    # Locks and the run's identity lie beside the folder, which only a finished seed creates.
    out.parent.mkdir(parents=True, exist_ok=True)
    # Under torchrun the ranks train each seed together and could not follow one rank's skip or
    # wait: the main process locks the whole folder, as a single writer, and shares nothing.
    main_process = int(os.environ.get("RANK", "0")) == 0
    sharing = int(os.environ.get("WORLD_SIZE", "1")) == 1

    def finished_or_trained(seed: int, retrain: bool) -> dict:
        seed_spec = replace(spec, seed=seed)
        folder = out / f"seed-{seed}"
        done = folder / "metrics.json"
        if done.exists() and not retrain:
            config = json.loads((folder / "config.json").read_text())
            now = {"spec": seed_spec.to_dict(), "provenance": provenance}
            recorded = json.loads(done.read_text()).get("mechanism")
            if recorded and recorded not in MECHANISMS.get(spec.method, (spec.method,)):
                raise PTPError(f"{folder}: was trained with the {recorded} mechanism, which --method {spec.method} "
                               f"no longer runs (it runs {' or '.join(MECHANISMS[spec.method])}); pass --force "
                               "to retrain it or choose another --out")
            if same_run(config, now):
                log(f"seed {seed}: reusing {folder}")
                if main_process:
                    record_config(folder / "config.json", now)
                return json.loads(done.read_text())
            raise PTPError(f"{folder}: holds a run with other settings; pass --force or another --out")
        return train_one_seed(seed_spec, folder, train_rows, val_rows, provenance, test_rows, log=log,
                              track=track, resume=not retrain)

    @contextlib.contextmanager
    def claimed(seed: int, block: bool):
        """Whether this process holds the seed now (always, under torchrun)."""
        if not sharing:
            yield True
            return
        path = beside(out, f"seed-{seed}.lock")
        if block:
            lock = FileLock(str(path))
            lock.acquire()
        else:
            lock = free_lock(path)
        if lock is None:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    with contextlib.nullcontext() if sharing or not main_process else write_lock(out):
        if sharing:
            refuse_other_settings(out, spec, provenance)
        results, held = {}, []
        for seed in seeds:
            with claimed(seed, block=False) as mine:
                if mine:
                    results[seed] = finished_or_trained(seed, force)
                else:
                    held.append(seed)
                    log(f"seed {seed}: another process is training it; "
                        + ("waiting for it after the others" if wait else "leaving it to that process"))
        if held and not wait:
            return None
        for seed in held:  # normally finished by now; trained here if the other process died meanwhile
            with claimed(seed, block=True):
                results[seed] = finished_or_trained(seed, False)
        results = [results[seed] for seed in seeds]
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
                   # Per seed, the arithmetic its numbers came from (another CPU type or precision
                   # gives another number for the same seed): a report names it.
                   "machines": [machine_of(r) for r in results],
                   "note": "summary: validation metrics at the best validation epoch of each seed (best) and "
                           "at the final epoch (last); report: the reported split's metrics at those epochs"}
        if main_process:  # whole or not at all: another process sharing the seeds may write it too
            replace_file(out / "summary.json", json.dumps(summary, indent=2))
        return summary


def machine_of(metrics: dict) -> str:
    """A run's CPU type and precision as one label: 'AMD EPYC [avx512_bf16] bf16'."""
    hardware = metrics.get("hardware") or {}
    precision = {"no": "fp32"}.get(metrics.get("mixed_precision"), metrics.get("mixed_precision") or "fp32?")
    if not hardware:
        return f"CPU not recorded, {precision}"
    device = hardware.get("cuda") or hardware.get("cpu", "?")
    flags = [f for f in hardware.get("cpu_flags", []) if f.startswith(("amx", "avx512_bf16"))]
    return f"{device}{' [' + ' '.join(flags) + ']' if flags and not hardware.get('cuda') else ''}, {precision}"


def beside(out: Path, what: str) -> Path:
    """A hidden file beside run folder `out` (a lock, the run's identity) that names it."""
    return out.parent / f".{out.name}.{what}"


def refuse_other_settings(out: Path, spec: TrainSpec, provenance: dict) -> None:
    """A process sharing a run folder with another that trains other settings there stops at once
    (else each would wait for the other's seeds, then fail on them)."""
    from filelock import FileLock

    identity = {"spec": {**spec.to_dict(), "seed": None}, "provenance": provenance}
    with FileLock(str(beside(out, "run.lock"))):
        recorded = beside(out, "run.json")
        if recorded.is_file() and not same_run(json.loads(recorded.read_text()), identity):
            for lock_file in out.parent.glob(f".{out.name}.seed-*.lock"):
                if (lock := free_lock(lock_file)) is None:
                    raise PTPError(f"{out}: another process is training other settings in this folder "
                                   f"({lock_file} is held); wait for it or choose another --out")
                lock.release()
        replace_file(recorded, json.dumps(identity, indent=2))
