"""Where is prompt tuning unstable? Vanilla over a grid of learning rate x training length x
prompt length, on one fixed training set, several seeds per cell.

Schedule: each training length is its own run, with the linear decay to zero over that length
that P-tuning v2 uses (HF Trainer's default), so a short budget is not read off a long run's
checkpoints (under a decaying schedule its first epochs are not a short run). Long runs score
validation every `eval_every` epochs and at the last; validation selects each run's epoch, test
reports (the claim protocol).

Per cell: mean and std over seeds of test at the selected epoch and at the last epoch, the drop
from the selected to the last, and the collapse rate: runs whose selected epoch scores at or below
the majority-class floor, or puts at least COLLAPSE_SHARE of test in one class. Outputs: report.md,
results.json and map.png (std and collapse rate per cell). Finished runs are reused; with
`finished_only` nothing is trained and the cells not yet finished are left out and named, so a map
that grows over several sittings can be read between them.
"""
from __future__ import annotations

import itertools
import json
import statistics
from dataclasses import replace
from pathlib import Path

from augment.common.atomic import replace_file, replace_png
from training.config import TrainSpec
from training.protocol import TrainingData
from training.runs import describe, run_seeds

from .stats import COLLAPSE_SHARE, collapsed


def run_collapsed(result: dict, floor: float | None, metric: str) -> bool:
    """A run that failed: its selected epoch at or below the floor, or (nearly) one class."""
    share = ((result.get("test") or {}).get("one_class_share") or {}).get("best")
    return collapsed(reported(result, "best", metric), share, floor)


def cell_name(lr: float, epochs: int, prefix_len: int) -> str:
    return f"lr={lr:g}_epochs={epochs}_prefix={prefix_len}"


def cell_spec(base: TrainSpec, lr: float, epochs: int, prefix_len: int) -> tuple[str, TrainSpec]:
    """A cell's name and its runs' spec: vanilla at the cell's lr, training length and prompt length."""
    return cell_name(lr, epochs, prefix_len), replace(base, lr=lr, epochs=epochs, prefix_len=prefix_len,
                                                      eval_every=min(base.eval_every, epochs), consistency="none",
                                                      embed_noise="none")


def reported(result: dict, which: str, metric: str) -> float:
    """Test at the selected ("best") or last epoch; validation's own when no test is labelled."""
    return (result["test"] or {which: result[which]})[which][metric]


def summarise_cell(results: list[dict], metric: str, floor: float | None) -> dict:
    selected = describe([reported(r, "best", metric) for r in results])
    last = describe([reported(r, "last", metric) for r in results])
    down = [r for r in results if run_collapsed(r, floor, metric)]
    return {"seeds": [r["seed"] for r in results], "selected": selected["values"], "last": last["values"],
            "mean": selected["mean"], "std": selected["std"], "last_mean": last["mean"], "last_std": last["std"],
            "drop": round(statistics.mean(s - t for s, t in zip(selected["values"], last["values"])), 2),
            "collapsed": len(down), "collapse_rate": round(len(down) / len(results), 3),
            "selected_epochs": [r["best"]["epoch"] for r in results],
            "skipped_steps": sum(r["skipped_steps"] for r in results)}


def stability_map(base: TrainSpec, data: TrainingData, lrs: list[float], budgets: list[int], prefix_lens: list[int],
                  seeds: list[int], out: Path, log=print, track="none", finished_only: bool = False) -> dict:
    from augment.common.errors import PTPError
    from augment.common.tasks import get_task

    from .stability import floor_of

    task = get_task(base.task)
    metric = task.metrics[0]
    floor = floor_of(base, data)
    floor_score = floor[metric] if floor else None
    cells, unfinished = {}, []
    for lr, epochs, prefix_len in itertools.product(lrs, budgets, prefix_lens):
        name = cell_name(lr, epochs, prefix_len)
        folder = out / "runs" / name
        if finished_only and not all((folder / f"seed-{s}" / "metrics.json").is_file() for s in seeds):
            log(f"== {name}: not finished, left out")
            unfinished.append(name)
            continue
        log(f"== {name}")
        _, spec = cell_spec(base, lr, epochs, prefix_len)
        summary = run_seeds(spec, seeds, data, out=folder, log=log, track=track)
        results = [json.loads((folder / f"seed-{s}" / "metrics.json").read_text()) for s in seeds]
        cells[name] = {"lr": lr, "epochs": epochs, "prefix_len": prefix_len, **summarise_cell(results, metric, floor_score)}
        cells[name]["split"] = summary["report"]["split"]
    if not cells:
        raise PTPError(f"{out / 'runs'}: no cell of this grid has all its seeds finished; run it without --finished-only")
    result = {"task": task.name, "metric": metric, "floor": floor, "seeds": seeds, "collapse_share": COLLAPSE_SHARE,
              "eval_every": base.eval_every, "schedule": "linear decay to 0 over each budget; each budget its own run",
              "base": {k: v for k, v in base.to_dict().items() if k != "seed"}, "cells": cells,
              "grid": {"lrs": lrs, "budgets": budgets, "prefix_lens": prefix_lens}, "unfinished": unfinished}
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "results.json", json.dumps(result, indent=2))
    text = report(result)
    replace_file(out / "report.md", text + "\n")
    plot(result, out / "map.png")
    log(text)
    return result


def report(result: dict) -> str:
    floor = result["floor"]
    metric = result["metric"]
    lines = [f"Vanilla prompt tuning on {result['task']}: test {metric} at each run's validation-selected epoch "
             f"(and at the last), seeds {','.join(map(str, result['seeds']))}; collapsed = selected epoch at or "
             f"below the majority floor ({floor[metric] if floor else '—'}) or >= {result['collapse_share']:.0%} "
             f"of test in one class. Schedule: {result['schedule']}.", *(
                 ["", "Warning: no labelled test split, so these figures were selected and reported on validation."]
                 if any(c["split"] != "test" for c in result["cells"].values()) else []), "",
             "| lr | epochs | prefix | mean +- std (selected) | last epoch mean +- std | drop | collapsed | selected epochs |",
             "|---|---|---|---|---|---|---|---|"]
    for cell in result["cells"].values():
        lines.append(f"| {cell['lr']:g} | {cell['epochs']} | {cell['prefix_len']} | {cell['mean']:.2f} +- {cell['std']:.2f} | "
                     f"{cell['last_mean']:.2f} +- {cell['last_std']:.2f} | {cell['drop']:+.2f} | "
                     f"{cell['collapsed']}/{len(cell['seeds'])} | {','.join(map(str, cell['selected_epochs']))} |")
    if result.get("unfinished"):
        lines += ["", f"Not finished yet, left out: {', '.join(result['unfinished'])}."]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """Heatmaps, one column per prompt length: seed std (top) and collapse rate (bottom) over
    learning rate x training length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cells = list(result["cells"].values())
    # The whole grid asked for, so that unfinished cells show as "not run".
    lrs, budgets, prefixes = (sorted(set(result["grid"][key])) for key in ("lrs", "budgets", "prefix_lens"))
    fig, axes = plt.subplots(2, len(prefixes), figsize=(3.6 * len(prefixes) + 1, 6.4), squeeze=False)
    top_std = max(max(c["std"] for c in cells), 1e-9)  # one scale for every prompt length
    for col, prefix in enumerate(prefixes):
        for row, (key, label, vmax) in enumerate((("std", "seed std (selected epoch)", top_std),
                                                   ("collapse_rate", "collapse rate", 1.0))):
            grid = np.full((len(lrs), len(budgets)), np.nan)
            for c in cells:
                if c["prefix_len"] == prefix:
                    grid[lrs.index(c["lr"]), budgets.index(c["epochs"])] = c[key]
            ax = axes[row][col]
            image = ax.imshow(grid, cmap="magma_r", vmin=0, vmax=vmax, origin="lower", aspect="auto")
            for i, j in itertools.product(range(len(lrs)), range(len(budgets))):
                if np.isnan(grid[i, j]):
                    ax.text(j, i, "not run", ha="center", va="center", fontsize=7, color="grey")
                else:
                    ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if grid[i, j] > vmax * 0.6 else "black")
            ax.set_xticks(range(len(budgets)), budgets)
            ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
            ax.set_xlabel("epochs")
            ax.set_ylabel("learning rate")
            ax.set_title(f"prefix {prefix}: {label}", fontsize=9)
            fig.colorbar(image, ax=ax, shrink=0.8)
    model = result.get("base", {}).get("model")
    # Two lines: a one-column map (one prompt length) is narrower than the title on one line.
    fig.suptitle(f"vanilla{f' {model}' if model else ''} on {result['task']}:\nwhere seeds spread and runs collapse",
                 fontsize=10)
    fig.tight_layout()
    replace_png(path, fig)
    plt.close(fig)
