"""Settings chosen on validation: train a grid of one method's knobs over a few seeds, pick the
setting whose mean validation score (at each seed's validation-selected epoch) is best, and
write it as a preset that `ptp-pipeline stability --presets` reads. Test figures are never
looked at here: the stability run on fresh seeds reports them.

A grid is `key=v1,v2,...` per knob (TrainSpec fields such as sigma, eps, lr; `pairs.KEY` for the
corpus parameters of a text-space method, e.g. pairs.rate); several knobs make a product.
A plain grid, not Optuna: a handful of values per knob, each run over several seeds, is what the
protocol needs, and a grid makes vanilla's budget (same number of settings) easy to match.

Every sweep of a regulariser or a text method also runs its zero point: the method switched off
(vanilla, on the same seeds and data), so the sweep says whether any value beats none. The pick
is the best point with the method on; the result says whether it beat the zero point and whether
it lies on an edge of the grid (the upper edge, or the lowest value while the zero point is
better still: validation improving toward zero), so an edge pick is never reported as tuned.
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
from training.regularisers import KNOBS, REGULARISERS

from .experiment import Experiment
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


ZERO = "none"  # the zero point's label and folder: the method off


def zero_point(preset: dict) -> dict | None:
    """The preset with its regulariser and partners off (vanilla at the same base settings), or
    None for a preset that is vanilla already (a sweep of vanilla's lr has no zero point)."""
    if not preset["pairs"] and preset["train"].get("embed_noise", "none") == "none":
        return None
    return {"pairs": None, "train": {"embed_noise": "none"}}


def grid_points(preset: dict, grid: dict[str, list], out: Path) -> list[tuple[dict | None, dict, Path]]:
    """(setting, preset, run folder) of every point a sweep trains: the zero point first (setting
    None), then the grid in order. The one place a sweep's folders are named: the sweep and the
    engine's planner (pipelines/engine.py) both call it."""
    zero = zero_point(preset)
    points = [(None, zero, out / "runs" / ZERO)] if zero else []
    return points + [(setting, apply(preset, setting), out / "runs" / label(setting).replace("/", "_"))
                     for setting in settings(grid)]


def edge(grid: dict[str, list], picked: dict, zero: dict | None) -> str | None:
    """Where the pick lies: 'upper' (the largest value of a knob), 'lower' (the smallest value while
    the zero point scored higher: validation improving toward zero), or None (inside the grid)."""
    for key, values in grid.items():
        numbers = sorted(v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
        if len(numbers) < 2 and not zero:
            continue
        value = picked["setting"][key]
        if numbers and value == numbers[-1] and len(numbers) > 1:
            return "upper"
        if numbers and value == numbers[0] and zero and zero["validation_mean"] > picked["validation_mean"]:
            return "lower"
    return None


def sweep(ex: Experiment, method: str, preset: dict, grid: dict[str, list], seeds: list[int], out: Path,
          base: TrainSpec) -> dict:
    """Every grid point (and the zero point) of `method` over `seeds`, on the experiment's data;
    sweep.json and sweep.md in `out`."""
    task, log = ex.task, ex.log
    noise = preset["train"].get("embed_noise", base.embed_noise)
    reads = [k.name for k in REGULARISERS[noise].knobs]
    unread = [k for k in grid if k in KNOBS and k not in reads]
    if unread:  # a knob the method never reads would train the same runs again under other names
        raise PTPError(f"--grid {', '.join(unread)}: {method} ({noise}) does not read it; its regulariser's "
                       f"knobs: {', '.join(reads) or 'none'}")
    candidates = grid_points(preset, grid, out)
    for _, candidate, _ in candidates:  # reject a bad value in any grid point before training anything
        replace(base, **candidate["train"])
    points, zero = [], None
    floor = floor_of(base, ex.opened(), selection=True)
    for setting, candidate, folder in candidates:
        log(f"== {method} {label(setting) if setting is not None else ZERO + ' (zero point: ' + method + ' off)'}")
        summary = run_method(ex, candidate, seeds, folder, out, base)
        values = summary["summary"]["best"][summary["metric"]]["values"]
        # Failed runs beside the spread: at or below validation's majority floor, or the test split
        # put in one class at the selected epoch; and the steps skipped as not finite.
        failed = collapsed_count({"values": values, "one_class_share": summary["one_class_share"]}, floor,
                                 summary["metric"])
        point = {"setting": setting, "preset": candidate, "metric": summary["metric"],
                 "validation_mean": round(sum(values) / len(values), 4), "validation_values": values,
                 "validation_std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                 "collapsed": failed, "skipped_steps": sum(summary["skipped_steps"])}
        if setting is None:
            zero = point
        else:
            points.append(point)
    picked = max(points, key=lambda p: p["validation_mean"])  # ties: the first in grid order
    for point in points:  # paired with the zero point, seed by seed
        if zero:
            point["minus_zero"] = round(statistics.mean(a - b for a, b in zip(point["validation_values"],
                                                                              zero["validation_values"])), 4)
    result = {"task": task, "method": method, "seeds": seeds, "grid": grid, "selected_on": "validation", "floor": floor,
              "base": {k: v for k, v in base.to_dict().items() if k != "seed"}, "zero": zero, "points": points,
              "picked": picked, "beats_zero": None if zero is None else picked["validation_mean"] > zero["validation_mean"],
              "edge": edge(grid, picked, zero)}
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "sweep.json", json.dumps(result, indent=2))
    text = table(result)
    replace_file(out / "sweep.md", text)
    log(text)
    return result


def table(result: dict) -> str:
    """sweep.md: every point (the zero point first) with its validation mean, std, paired
    difference from the zero point and collapses; then what the pick is."""
    picked, zero, seeds = result["picked"], result["zero"], result["seeds"]
    lines = [f"| {result['method']} setting | validation {picked['metric']} mean over seeds {','.join(map(str, seeds))} "
             "| std | minus zero point (paired mean) | collapsed runs | skipped steps |", "|---|---|---|---|---|---|"]
    rows = ([(f"{ZERO} (zero point: {result['method']} off)", zero)] if zero else []) + \
        [(label(p["setting"]) + (" (picked)" if p is picked else ""), p) for p in result["points"]]
    lines += [f"| {name} | {p['validation_mean']:.2f} | {p['validation_std']:.2f} | "
              f"{'—' if 'minus_zero' not in p else format(p['minus_zero'], '+.2f')} | {p['collapsed']}/{len(seeds)} "
              f"| {p['skipped_steps']} |" for name, p in rows]
    verdict = []
    if zero:
        verdict.append(f"the pick {'beats' if result['beats_zero'] else 'does not beat'} the zero point "
                       f"({picked['validation_mean']:.2f} against {zero['validation_mean']:.2f})")
    if result["edge"]:
        verdict.append(f"the pick is on the {result['edge']} edge of the grid"
                       + (" (validation improving toward zero)" if result["edge"] == "lower" else "")
                       + ": not a tuned value; widen the grid")
    if verdict:
        lines.append(f"\n{'; '.join(verdict)[0].upper()}{'; '.join(verdict)[1:]}.")
    floor = result["floor"]
    if floor:
        lines.append(f"\nCollapsed: at or below validation's majority floor ({floor[picked['metric']]:.2f}) or "
                     "the test split put >= 95% in one class at the selected epoch.")
    return "\n".join(lines) + "\n"


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
            "zero_point_mean": (result.get("zero") or {}).get("validation_mean"),
            "beats_zero": result.get("beats_zero"), "edge": result.get("edge"), "base": result["base"]}}
        replace_file(path, json.dumps(presets, indent=2) + "\n")
