"""Settings chosen on validation: train a grid of one method's knobs over a few seeds, pick the
setting whose mean validation score (at each seed's validation-selected epoch) is best, and
write it as a preset that `ptp-pipeline stability --presets` reads. Test figures are never
looked at here: the stability run on fresh seeds reports them.

A grid is `key=v1,v2,...` per knob (TrainSpec fields such as sigma, eps, lr; `pairs.KEY` for the
corpus parameters of a text-space method, e.g. pairs.rate); several knobs make a product.
A plain grid, not Optuna: a handful of values per knob, each run over several seeds, is what the
protocol needs, and a grid makes vanilla's budget (same number of settings) easy to match.
"""
from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import fields, replace
from pathlib import Path

from augment.common.atomic import replace_file
from augment.common.errors import PTPError
from training.config import TrainSpec
from training.protocol import TrainingData, open_data
from training.regularisers import KNOBS, REGULARISERS

from .stability import collapsed_count, floor_of, run_method

FIXED = {"task", "seed"}  # chosen by the experiment, not by a sweep


def parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_grid(items: list[str]) -> dict[str, list]:
    known = {f.name: f for f in fields(TrainSpec)}
    grid: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise PTPError(f"--grid {item!r}: expected KEY=V1,V2,... e.g. sigma=0.005,0.01,0.02")
        if key in FIXED or (key not in known and not key.startswith("pairs.")):
            choices = ", ".join(sorted(set(known) - FIXED))
            raise PTPError(f"--grid {item!r}: unknown knob '{key}'; choose a trainer setting ({choices}) "
                           "or pairs.KEY for a corpus parameter")
        if key in grid:
            raise PTPError(f"--grid {item!r}: '{key}' is given twice")
        parsed = [parse_value(v.strip()) for v in values.split(",") if v.strip()]
        if key in known and "float" in str(known[key].type):
            parsed = [float(v) if isinstance(v, int) else v for v in parsed]
        grid[key] = parsed
    if not grid:
        raise PTPError("--grid: give at least one KEY=V1,V2,...")
    return grid


def settings(grid: dict[str, list]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def apply(preset: dict, setting: dict) -> dict:
    """The preset with a grid point put in (trainer knobs into `train`, pairs.* into the corpus)."""
    train = {**preset["train"], **{k: v for k, v in setting.items() if not k.startswith("pairs.")}}
    pairs = preset["pairs"]
    corpus = {k[len("pairs."):]: v for k, v in setting.items() if k.startswith("pairs.")}
    if corpus:
        if not pairs:
            raise PTPError(f"--grid {', '.join('pairs.' + k for k in corpus)}: this method trains on no corpus")
        pairs = {**pairs, "params": {**pairs.get("params", {}), **corpus}}
    return {"pairs": pairs, "train": train}


def label(setting: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in setting.items())


def sweep(task: str, method: str, preset: dict, grid: dict[str, list], seeds: list[int], out: Path,
          base: TrainSpec, source="auto", data_dir=None, victim=None, log=print, track="auto",
          data: TrainingData | None = None) -> dict:
    """`data`: the task's data when the caller has opened it (else opened here from source/data_dir)."""
    noise = preset["train"].get("embed_noise", base.embed_noise)
    reads = [k.name for k in REGULARISERS[noise].knobs]
    unread = [k for k in grid if k in KNOBS and k not in reads]
    if unread:  # a knob the method never reads would train the same runs again under other names
        raise PTPError(f"--grid {', '.join(unread)}: {method} ({noise}) does not read it; its regulariser's "
                       f"knobs: {', '.join(reads) or 'none'}")
    candidates = [(setting, apply(preset, setting)) for setting in settings(grid)]
    for _, candidate in candidates:  # reject a bad value in any grid point before training anything
        replace(base, **candidate["train"])
    points = []
    data = data or open_data(task, source=source, data_dir=data_dir, log=log)
    floor = floor_of(base, data, selection=True)
    for setting, candidate in candidates:
        log(f"== {method} {label(setting)}")
        summary = run_method(task, candidate, seeds, out / "runs" / label(setting).replace("/", "_"), out, base,
                             data, source, data_dir, victim, log, track)
        values = summary["summary"]["best"][summary["metric"]]["values"]
        # Failed runs beside the spread: at or below validation's majority floor, or the test split
        # put in one class at the selected epoch; and the steps skipped as not finite.
        failed = collapsed_count({"values": values, "one_class_share": summary["one_class_share"]}, floor,
                                 summary["metric"])
        points.append({"setting": setting, "preset": candidate, "metric": summary["metric"],
                       "validation_mean": round(sum(values) / len(values), 4), "validation_values": values,
                       "validation_std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                       "collapsed": failed, "skipped_steps": sum(summary["skipped_steps"])})
    picked = max(points, key=lambda p: p["validation_mean"])  # ties: the first in grid order
    result = {"task": task, "method": method, "seeds": seeds, "grid": grid, "selected_on": "validation", "floor": floor,
              "base": {k: v for k, v in base.to_dict().items() if k != "seed"}, "points": points, "picked": picked}
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "sweep.json", json.dumps(result, indent=2))
    lines = [f"| {method} setting | validation {picked['metric']} mean over seeds {','.join(map(str, seeds))} | std "
             f"| collapsed runs | skipped steps |", "|---|---|---|---|---|"]
    lines += [f"| {label(p['setting'])}{' (picked)' if p is picked else ''} | {p['validation_mean']:.2f} "
              f"| {p['validation_std']:.2f} | {p['collapsed']}/{len(seeds)} | {p['skipped_steps']} |" for p in points]
    if floor:
        lines.append(f"\nCollapsed: at or below validation's majority floor ({floor[picked['metric']]:.2f}) or "
                     "the test split put >= 95% in one class at the selected epoch.")
    replace_file(out / "sweep.md", "\n".join(lines) + "\n")
    log("\n".join(lines))
    return result


def write_preset(path: Path, name: str, result: dict) -> None:
    """Put the picked setting into a presets file as `name` (replacing an earlier sweep's entry).
    Read, changed and replaced under a lock: sweeps sharing a file (or their runs) finish together."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(f".{path.name}.lock"))):
        presets = {}
        if path.exists():
            try:
                presets = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise PTPError(f"{path}: not a JSON presets file ({err}); choose another --presets-out") from None
        picked = result["picked"]
        presets[name] = {**picked["preset"], "about": {
            "method": result["method"], "setting": picked["setting"], "selected_on": "validation",
            "validation_mean": picked["validation_mean"], "seeds": result["seeds"], "grid": result["grid"],
            "base": result["base"]}}
        replace_file(path, json.dumps(presets, indent=2) + "\n")
