"""The seed spread epoch by epoch: does a regulariser narrow it as training goes on, even where
the selected epoch's score does not move?

Reads the validation figures every run recorded at each epoch it evaluated (metrics.json's
`history`, or the per-seed records `ptp-pipeline records` writes), grouped by method and draw
(.../draw-D/runs/METHOD/seed-N), and gives per method and evaluated epoch: the mean, the std and
the min-max over runs, the runs at or below the validation majority floor (collapsed at that
epoch), and against the baseline the within-draw std ratio with its bootstrap interval
(stats.within_draws: the spread at a fixed training set, the draw's own effect left out).
Validation is the split that selects, so these curves describe training; they report nothing
(the test figures at the selected and last epoch do).
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from augment.common.atomic import replace_file, replace_png

from .stats import within_draws

# A run folder's .../draw-0/runs/vanilla/seed-1/metrics.json, or a record's .../draw-0/vanilla/seed-1.json.
PLACE = re.compile(r"(?:^|/)(?:draw-(\d+)/)?(?:runs/)?([^/]+)/seed-(\d+)(?:/metrics)?\.json$")


def runs_of(folders: list[Path]) -> dict[str, dict[tuple[int, int], dict]]:
    """method -> {(draw, seed): record} for every finished seed under `folders` (run folders'
    metrics.json with their config.json, or per-seed records)."""
    found: dict[str, dict] = {}
    for path in sorted(p for folder in folders for p in Path(folder).rglob("*.json")):
        match = PLACE.search(path.as_posix())
        if not match:
            continue
        data = json.loads(path.read_text())
        if "history" not in data:
            continue
        if path.name == "metrics.json":  # a run folder: its settings are beside it
            config = json.loads((path.parent / "config.json").read_text())
            data = {**data, "spec": config["spec"], "provenance": config.get("provenance")}
        draw, method, seed = int(match.group(1) or 0), match.group(2), int(match.group(3))
        found.setdefault(method, {})[(draw, seed)] = data
    return found


def validation_floor(record: dict) -> float:
    """The validation split's majority-class floor of the data a run trained on (its draw)."""
    from training.config import TrainSpec
    from training.protocol import open_data

    from .stability import floor_of

    spec, source = TrainSpec(**record["spec"]), record["provenance"]["source"]
    local = source["name"] == "local" and Path(source["location"]).is_dir()  # official files, or a task file's
    data = open_data(spec.task, source=source["name"], data_dir=source["location"] if local else None,
                     log=lambda *_: None)
    return floor_of(spec, data, selection=True)[record["metric"]]


def spread(folders: list[Path], baseline: str = "vanilla", floors: dict[int, float] | None = None) -> dict:
    from augment.common.errors import PTPError

    runs = runs_of(folders)
    if baseline not in runs:
        raise PTPError(f"{', '.join(map(str, folders))}: no {baseline} runs with per-epoch figures "
                       f"(methods found: {', '.join(runs) or 'none'}); pass --baseline METHOD")
    keys = sorted(runs[baseline])
    draws = sorted({d for d, _ in keys})
    metric = next(iter(runs[baseline].values()))["metric"]
    floors = floors or {d: validation_floor(runs[baseline][next(k for k in keys if k[0] == d)]) for d in draws}

    def scores(method: str) -> dict[int, dict]:
        """epoch -> {(draw, seed): validation score} over the runs the baseline has too."""
        out: dict[int, dict] = {}
        for key in keys:
            for row in runs[method].get(key, {}).get("history", []):
                if metric in row:
                    out.setdefault(row["epoch"], {})[key] = row[metric]
        return out

    base_scores = scores(baseline)
    result = {"metric": metric, "split": "validation", "baseline": baseline, "floors": floors,
              "runs": len(keys), "draws": draws, "methods": {}}
    for method in runs:
        by_epoch, rows = scores(method), []
        for epoch in sorted(e for e in by_epoch if len(by_epoch[e]) == len(keys)):
            values = [by_epoch[epoch][k] for k in keys]
            row = {"epoch": epoch, "mean": round(statistics.mean(values), 2),
                   "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
                   "min": min(values), "max": max(values),
                   "collapsed": sum(v <= floors[d] for v, (d, _) in zip(values, keys))}
            if method != baseline and len(base_scores.get(epoch, {})) == len(keys):
                grouped = [[by_epoch[epoch][k] for k in keys if k[0] == d] for d in draws]
                base = [[base_scores[epoch][k] for k in keys if k[0] == d] for d in draws]
                w = within_draws(grouped, base)
                row["within_std_ratio"], row["within_std_ratio_ci"] = w["std_ratio"], w["std_ratio_ci"]
            rows.append(row)
        result["methods"][method] = rows
    return result


def table(result: dict) -> str:
    lines = [f"Validation {result['metric']} by epoch over {result['runs']} runs (draws "
             f"{','.join(map(str, result['draws']))}); collapsed: at or below the validation majority floor "
             f"({', '.join(f'draw {d}: {f:.2f}' for d, f in result['floors'].items())}); std ratio: within draws, "
             f"against {result['baseline']}, 95% bootstrap interval.", "",
             "| method | epoch | mean | std | min-max | collapsed | std ratio within draws [95% CI] |",
             "|---|---|---|---|---|---|---|"]
    for method, rows in result["methods"].items():
        for r in rows:
            ratio = "—"
            if r.get("within_std_ratio") is not None:
                low, high = r["within_std_ratio_ci"]
                ratio = f"{r['within_std_ratio']:.2f} [{low:.2f}, {high:.2f}]" if low is not None else \
                    f"{r['within_std_ratio']:.2f}"
            lines.append(f"| {method} | {r['epoch']} | {r['mean']:.2f} | {r['std']:.2f} | {r['min']:.2f}-{r['max']:.2f} "
                         f"| {r['collapsed']}/{result['runs']} | {ratio} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    """Std, min-max band and collapsed runs against epochs, one colour per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    for i, (method, rows) in enumerate(result["methods"].items()):
        epochs = [r["epoch"] for r in rows]
        top.plot(epochs, [r["std"] for r in rows], marker="o", color=f"C{i}", label=method)
        middle.fill_between(epochs, [r["min"] for r in rows], [r["max"] for r in rows], color=f"C{i}", alpha=0.15)
        middle.plot(epochs, [r["mean"] for r in rows], color=f"C{i}")
        bottom.plot(epochs, [r["collapsed"] for r in rows], marker="o", color=f"C{i}")
    top.set_ylabel("std over runs")
    top.legend(fontsize=8)
    middle.set_ylabel(f"validation {result['metric']}\nmean, min-max")
    for floor in set(result["floors"].values()):
        middle.axhline(floor, ls="--", color="grey", lw=1)
    bottom.set_ylabel(f"collapsed (of {result['runs']})")
    bottom.set_xlabel("epoch")
    fig.suptitle("Seed spread by epoch (validation)")
    fig.tight_layout()
    replace_png(path, fig)
    plt.close(fig)


def write(folders: list[Path], out: Path, baseline: str = "vanilla", floors: dict[int, float] | None = None) -> dict:
    """OUT/epochs.json, epochs.md and epochs.png."""
    result = spread(folders, baseline, floors)
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "epochs.json", json.dumps(result, indent=1) + "\n")
    replace_file(out / "epochs.md", table(result))
    plot(result, out / "epochs.png")
    return result
