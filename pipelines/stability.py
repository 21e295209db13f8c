"""Multi-seed stability under the claim protocol: every method on the same seeds and training
rows; validation selects each seed's epoch, the test split reports; a report with statistics.

Corpora and runs are cached by the stages themselves, so a rerun only trains what is missing.
The report (`report.md`, `results.json`, `stability.png`) gives, per method, the reported
split's mean +- std, min and max over seeds at the validation-selected epoch, and against the
baseline (the first method): the paired gain with its bootstrap 95% interval, the ratio of stds
with its interval, and the Brown-Forsythe test of equal variance (pipelines/stats.py).
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path

from augment.build import build_corpus
from augment.common.atomic import replace_file, replace_png
from augment.common.corpus import fingerprint_of, waited_lock
from augment.perturbers import AdversarialPerturber, RandomPerturber
from augment.random_ops import RandomSpec
from augment.shards import Shard
from training.config import TrainSpec
from training.protocol import TrainingData, load_training_data, open_data, train_positions
from training.runs import describe, run_seeds

from .experiment import Experiment

from .stats import collapse_test, collapsed, compare, within_draws


def corpus_for(ex: Experiment, pairs: dict, rows: list[int] | None, limit: int | None, out: Path) -> Path:
    """The preset's text corpus over the train rows the runs use: `rows` (a few-shot draw's
    positions), else the first `limit` rows (--max-train), else all."""
    task, source, data_dir, log = ex.task, ex.source, ex.data_dir, ex.log
    params = pairs.get("params", {})
    # Keyed by the corpus parameters and rows: two presets or draws never share a folder.
    key = {**params, **({"rows": rows} if rows is not None else {}), **({"limit": limit} if limit else {})}
    suffix = f"_{fingerprint_of(key)[:8]}" if key else ""
    folder = out / "corpora" / f"{task}_{pairs['mode']}{suffix}"
    # Processes sharing an experiment build each corpus once: the first builds, the others wait for
    # it here and then find it cached (build_corpus itself refuses a second writer outright). Under
    # torchrun the ranks build one corpus together (shards), so only the main one takes the lock.
    lock = waited_lock(folder.parent / f".{folder.name}.build.lock", log,
                       f"{folder}: another process is building this corpus; waiting for it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with lock if Shard.from_env().main else contextlib.nullcontext():
        if pairs["mode"] == "random":
            perturber = RandomPerturber(task, RandomSpec(**params))
        else:
            from augment.attack.spec import AttackSpec
            from training.victim import load_victim, resolve_victim

            path, identity = resolve_victim(ex.victim, task, log=log, source=source, data_dir=data_dir)
            perturber = AdversarialPerturber(task, lambda: load_victim(path, task), AttackSpec(victim=identity, **params),
                                             log=log)
        build_corpus(perturber, out=folder, source=source, data_dir=data_dir, rows=rows if rows is not None else limit,
                     log=log)
    return folder


def run_method(ex: Experiment, preset: dict, seeds: list[int], folder: Path, corpora: Path, base: TrainSpec,
               wait: bool = True) -> dict | None:
    """One method (a preset) on every seed: its corpus if it has one, then the runs, on the
    experiment's data (a text preset on its corpus instead). `wait`: see run_seeds (None while
    another process still trains some of the seeds)."""
    data = ex.opened()
    if preset["pairs"]:
        # The corpus perturbs the rows the trainer uses: the few-shot draw, or the first --max-train.
        pairs = corpus_for(ex, preset["pairs"], train_positions(base, data), base.max_train, corpora)
        data = open_data(ex.task, pairs=pairs, log=ex.log)
    spec = replace(base, **preset["train"])
    return run_seeds(spec, seeds, data, out=folder, log=ex.log, track=ex.track, wait=wait)


def free_first(keys: list, run, wait: bool = True) -> dict:
    """`run(key, wait)` for every key: first each without waiting for runs another process holds
    (None where it would have to), then, with `wait`, the keys left, waiting for those runs."""
    results = {}
    for wait_now in (False, True) if wait else (False,):
        for key in keys:
            if results.get(key) is None:
                results[key] = run(key, wait_now)
    return results


def stability(ex: Experiment, seeds: list[int], methods: dict[str, dict], out: Path, base: TrainSpec,
              wait: bool = True) -> dict | None:
    """Every method on every seed, then the report. Several processes given the same command share
    the runs (run_seeds); with `wait=False`, None and no report while another still trains some."""

    def method(name, wait_now):
        ex.log(f"== {name}")
        return run_method(ex, methods[name], seeds, out / "runs" / name, out, base, wait=wait_now)

    results = free_first(list(methods), method, wait)
    if any(result is None for result in results.values()):
        return None
    report = write_report(results, out, floor_of(base, ex.opened()))
    ex.log(report)
    return results


def stability_draws(ex: Experiment, seeds: list[int], methods: dict[str, dict], out: Path, base: TrainSpec,
                    sample_seeds: list[int]) -> dict:
    """The few-shot grid at one size: the stability experiment on each label-stratified draw
    (`out/draw-S`, every method on every seed), then one report over all (draw, seed) pairs in
    `out`, with a per-draw table below it. Pairs are resampled as independent in the pooled
    intervals (draws are few; the per-draw rows show how much the draw itself moves the scores)."""
    if base.train_size is None:
        from augment.common.errors import PTPError

        raise PTPError("--sample-seeds draws few-shot training sets: pass --train-size N too")
    data = ex.opened()

    def draw_of(draw, wait):
        ex.log(f"=== draw {draw} ({base.train_size} examples, sample seed {draw})")
        return stability(ex, seeds, methods, out / f"draw-{draw}", replace(base, sample_seed=draw), wait=wait)

    # Over all draws, so that two processes given this command leave no core idle until the last runs.
    per_draw = free_first(sample_seeds, draw_of)
    names, base_name = list(methods), next(iter(methods))
    first = per_draw[sample_seeds[0]][base_name]
    metric, report = first["metric"], first["report"]

    def by_draw(name):  # a method's scores, one list per draw, seeds in order
        return [per_draw[d][name]["report"]["selected"][metric]["values"] for d in sample_seeds]

    pooled = {name: {"metric": metric, "seeds": [f"{d}:{s}" for d in sample_seeds for s in seeds],
                     "one_class_share": sum((per_draw[d][name]["one_class_share"] for d in sample_seeds), []),
                     "machines": sum((per_draw[d][name].get("machines", []) for d in sample_seeds), []),
                     "report": {"split": report["split"], "rows": report["rows"],
                                "selected": {metric: describe(sum(by_draw(name), []))}}}
              for name in names}
    within = {name: within_draws(by_draw(name), by_draw(base_name)) for name in names[1:]}
    text = write_report(pooled, out, floor_of(replace(base, sample_seed=sample_seeds[0]), data),
                        more_results={"within_draws": within})
    lines = ["", f"Per draw ({base.train_size} examples each; the draw is its sample seed):", "",
             "| draw | " + " | ".join(f"{n} mean +- std" for n in names)
             + "".join(f" | {n} gain vs {base_name} [95% CI]" for n in names[1:]) + " |",
             "|---" * (1 + len(names) + len(names[1:])) + "|"]
    for draw in sample_seeds:
        rows = comparison(per_draw[draw])["methods"]
        cells = [f"{rows[n]['mean']:.2f} +- {rows[n]['std']:.2f}" for n in names]
        cells += [f"{rows[n]['vs_baseline']['gain']:+.2f} {_interval(rows[n]['vs_baseline']['gain_ci'])}"
                  for n in names[1:]]
        lines.append(f"| {draw} | " + " | ".join(cells) + " |")
    lines += ["", "Seed spread at a fixed training set (the pooled within-draw std; the draw's own effect left out):",
              "", f"| method | within-draw std | {base_name} within-draw std | std ratio [95% CI] | "
                  "Brown-Forsythe p (draw-centred) |", "|---|---|---|---|---|"]
    for name, w in within.items():
        ratio = "—" if w["std_ratio"] is None else f"{w['std_ratio']:.2f} {_interval(w['std_ratio_ci']).replace('+', '')}"
        p = "—" if w["brown_forsythe_p"] is None else f"{w['brown_forsythe_p']:.3f}"
        std = "— | —" if w["std"] is None else f"{w['std']:.2f} | {w['baseline_std']:.2f}"
        lines.append(f"| {name} | {std} | {ratio} | {p} |")
    text += "\n" + "\n".join(lines)
    replace_file(out / "report.md", text + "\n")
    ex.log(text)
    return {"draws": per_draw, "pooled": comparison(pooled), "within_draws": within}


def floor_of(base: TrainSpec, data: TrainingData, selection: bool = False) -> dict | None:
    """The majority-class floor on the reported split of the data the runs used (on the split
    that selects, validation, with `selection`)."""
    from augment.common.tasks import get_task
    from training.floor import majority_floor

    task = get_task(base.task)
    if task.kind == "record":
        return None
    train, val, test, _ = load_training_data(base, data, log=lambda *_: None)
    reported = test is not None and not selection
    return {**majority_floor(task, train, test if reported else val), "split": "test" if reported else "validation"}


def comparison(results: dict) -> dict:
    """Per method: the reported split's stats at the selected epoch and, against the baseline
    (the first method), the paired statistics on the same seeds."""
    names = list(results)
    baseline = results[names[0]]
    metric = baseline["metric"]
    rows = {}
    for name in names:
        stats = results[name]["report"]["selected"][metric]
        if results[name]["seeds"] != baseline["seeds"]:
            raise ValueError(f"{name} and {names[0]} were not run on the same seeds")
        rows[name] = {**{k: stats[k] for k in ("mean", "std", "min", "max", "values")},
                      "one_class_share": results[name]["one_class_share"],
                      "vs_baseline": None if name == names[0] else
                      compare(stats["values"], baseline["report"]["selected"][metric]["values"])}
    return {"metric": metric, "baseline": names[0], "split": baseline["report"]["split"],
            "rows": baseline["report"]["rows"], "seeds": baseline["seeds"], "methods": rows}


def _interval(ci) -> str:
    return "—" if ci[0] is None else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def collapsed_runs(row: dict, floor: dict | None, metric: str) -> list[bool]:
    """Per run, whether it failed: at or below the majority floor, or >= COLLAPSE_SHARE of the split in one class."""
    level = floor[metric] if floor else None
    return [collapsed(v, s, level) for v, s in zip(row["values"], row["one_class_share"])]


def collapsed_count(row: dict, floor: dict | None, metric: str) -> int:
    return sum(collapsed_runs(row, floor, metric))


def write_report(results: dict, out: Path, floor: dict | None = None, more_results: dict | None = None) -> str:
    """report.md, results.json (the comparison, the runs and `more_results`) and stability.png in `out`."""
    table = comparison(results)
    table["floor"] = floor
    metric, base = table["metric"], table["baseline"]
    base_runs = collapsed_runs(table["methods"][base], floor, metric)
    for name, row in table["methods"].items():
        runs = collapsed_runs(row, floor, metric)
        row["collapsed"] = sum(runs)
        row["collapse_test"] = None if name == base else collapse_test(runs, base_runs)
    lines = [f"{table['split']} {metric} ({table['rows']} rows) at each seed's validation-selected epoch, "
             f"seeds {','.join(map(str, table['seeds']))}; paired statistics against {base}.",
             "",
             "| method | mean +- std | min | max | collapsed | paired gain [95% CI] | better on | std ratio [95% CI] | "
             "Brown-Forsythe p | collapse p |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in table["methods"].items():
        cmp = row["vs_baseline"]
        if cmp is None:
            extra = "— | — | — | — | —"
        else:
            ratio = "—" if cmp["std_ratio"] is None else f"{cmp['std_ratio']:.2f} {_interval(cmp['std_ratio_ci']).replace('+', '')}"
            p = "—" if cmp["brown_forsythe_p"] is None else f"{cmp['brown_forsythe_p']:.3f}"
            extra = (f"{cmp['gain']:+.2f} {_interval(cmp['gain_ci'])} | {cmp['gains_positive']}/{cmp['seeds']} | {ratio} | "
                     f"{p} | {row['collapse_test']['exact_mcnemar_p']:.3f}")
        lines.append(f"| {name} | {row['mean']:.2f} +- {row['std']:.2f} | {row['min']} | {row['max']} | "
                     f"{row['collapsed']}/{len(row['values'])} | {extra} |")
    if floor is not None:
        lines.append(f"| zero-training floor: {floor['rule']} | {floor[metric]:.2f} | — | — | — | — | — | — | — | — |")
    lines.append("\ncollapsed: runs at or below the zero-training floor, or with >= 95% of the split in one class; "
                 "collapse p: exact McNemar test of the collapsed runs against the baseline's on the same seeds.")
    machines = [m for name in results for m in results[name].get("machines", [])]
    if machines:
        counts = {m: machines.count(m) for m in dict.fromkeys(machines)}
        lines.append(f"\nEvery run on one CPU type and precision: {machines[0]}." if len(counts) == 1 else
                     "\n**The runs differ in CPU type or precision** (the same seed gives other numbers on another): "
                     + "; ".join(f"{m}: {n} runs" for m, n in counts.items()) + ".")
    if table["split"] != "test":
        lines.append("\nWarning: no labelled test split, so these figures were selected and reported on validation "
                     "(pass --holdout to report on a split nothing was selected on).")
    text = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "report.md", text + "\n")
    replace_file(out / "results.json", json.dumps({"comparison": table, "runs": results, **(more_results or {})},
                                                         indent=2))
    plot(table, out / "stability.png")
    return text


def plot(table: dict, path: Path) -> None:
    """Every seed's score per method (a strip, seeds of one method side by side), with its mean
    and +- std; reads results, never trains."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table["methods"])
    seeds = table["seeds"]
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    offsets = [(i - (len(seeds) - 1) / 2) * (0.5 / max(len(seeds), 1)) for i in range(len(seeds))]
    for i, name in enumerate(names, 1):
        row = table["methods"][name]
        ax.scatter([i + o for o in offsets], row["values"], s=22, zorder=3, color=f"C{i - 1}")
        ax.errorbar(i + 0.35, row["mean"], yerr=row["std"], fmt="_", markersize=14, color="black", capsize=4)
    if table.get("floor"):
        ax.axhline(table["floor"][table["metric"]], ls="--", color="grey", lw=1)
        ax.text(0.01, table["floor"][table["metric"]], " zero-training floor", transform=ax.get_yaxis_transform(),
                fontsize=8, color="grey", va="bottom")
    ax.set_xticks(range(1, len(names) + 1), names)
    ax.set_ylabel(f"{table['split']} {table['metric']} (validation-selected epoch)")
    ax.set_title(f"{len(seeds)} seeds per method; bar: mean +- std")
    fig.tight_layout()
    replace_png(path, fig)
    plt.close(fig)
