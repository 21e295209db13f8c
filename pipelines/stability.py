"""Multi-seed stability: every method on every seed, on the same training rows; a report.

Corpora and runs are cached by the stages themselves, so a rerun only trains what is missing.
The report (`report.md`, `results.json`, `stability.png`) gives mean +- std, min and max per method
for the best-epoch and the last-epoch validation metric.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from augment.build import build_corpus
from augment.random_ops import RandomSpec
from training.config import TrainSpec
from training.runs import run_seeds


def corpus_for(task: str, pairs: dict, rows: int | None, out: Path, data_dir, victim, log) -> Path:
    folder = out / "corpora" / f"{task}_{pairs['mode']}"
    if pairs["mode"] == "random":
        build_corpus(task, "random", out=folder, data_dir=data_dir, spec=RandomSpec(**pairs.get("params", {})),
                     limit=rows, log=log)
    else:
        from augment.adversarial import AttackSpec, adversarial_splitter
        from training.victim import load_victim, resolve_victim

        path, identity = resolve_victim(victim, task, log=log)
        spec = AttackSpec(victim=identity, **pairs.get("params", {}))
        build_corpus(task, "adversarial", out=folder, data_dir=data_dir, spec=spec, limit=rows, log=log,
                     perturb_split=adversarial_splitter(spec, lambda: load_victim(path, task), log=log))
    return folder


def stability(task: str, seeds: list[int], methods: dict[str, dict], out: Path, base: TrainSpec,
              data_dir=None, victim=None, log=print) -> dict:
    results = {}
    for name, preset in methods.items():
        pairs = None
        if preset["pairs"]:
            pairs = corpus_for(task, preset["pairs"], base.max_train, out, data_dir, victim, log)
        spec = replace(base, **preset["train"])
        log(f"== {name}")
        results[name] = run_seeds(spec, seeds, out=out / "runs" / name, pairs=pairs, data_dir=data_dir, log=log)
    report = write_report(results, out)
    log(report)
    return results


def write_report(results: dict, out: Path) -> str:
    metric = next(iter(results.values()))["metric"]
    lines = [f"| method | best {metric} mean +- std | min | max | last {metric} mean +- std | min | max |",
             "|---|---|---|---|---|---|---|"]
    for name, summary in results.items():
        b, l = summary["summary"]["best"][metric], summary["summary"]["last"][metric]
        lines.append(f"| {name} | {b['mean']:.2f} +- {b['std']:.2f} | {b['min']} | {b['max']} | "
                     f"{l['mean']:.2f} +- {l['std']:.2f} | {l['min']} | {l['max']} |")
    table = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, metric, out / "stability.png")
    return table


def plot(results: dict, metric: str, path: Path) -> None:
    """Strip + box plot of the last-epoch metric per method (reads results, never trains)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    values = [results[n]["summary"]["last"][metric]["values"] for n in names]
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    ax.boxplot(values, showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names)
    for i, vals in enumerate(values, 1):
        ax.scatter([i] * len(vals), vals, s=18, zorder=3)
    ax.set_ylabel(f"validation {metric} (last epoch)")
    ax.set_title("seed stability")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
