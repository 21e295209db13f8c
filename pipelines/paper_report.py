"""The paper's grid, reported: the task x method table over seeds from each task's results.json
(the SuperGLUE score per seed, the average over tasks, the paired gain over the baseline with its
interval, collapsed runs), P-tuning v2's published numbers beside it; report.md, results.json and
paper.png."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from augment.common.atomic import replace_file, replace_png
from augment.common.tasks import get_task

from .paper_plan import TASKS, Plan
from .stats import compare

def task_scores(summary: dict, task: str) -> list[float]:
    """Per seed, the task's SuperGLUE score at the selected epoch on the reported split: its
    metric, or the mean of its two (CB: accuracy and macro F1; MultiRC: F1a and EM; ReCoRD: F1 and EM)."""
    selected = summary["report"]["selected"]
    metrics = get_task(task).metrics
    return [round(statistics.mean(vals), 4) for vals in zip(*(selected[m]["values"] for m in metrics))]


def stats_of(values: list[float]) -> dict:
    return {"values": values, "mean": round(statistics.mean(values), 2),
            "std": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0}


def collect(p: Plan, sweeps: dict) -> dict:
    """The table's numbers from each task's results.json (written by stability)."""
    names = list(p.methods)
    baseline = names[0]
    table, per_seed = {}, {n: [] for n in names}
    splits = {}
    for task in p.tasks:
        results = json.loads((p.out / task / "results.json").read_text())
        comparison = results["comparison"]
        splits[task] = {"split": comparison["split"], "rows": comparison["rows"]}
        scores = {n: task_scores(results["runs"][n], task) for n in names}
        table[task] = {}
        for name in names:
            row = {**stats_of(scores[name]), "collapsed": comparison["methods"][name]["collapsed"],
                   "runs": len(scores[name])}
            row["vs_baseline"] = None if name == baseline else compare(scores[name], scores[baseline])
            table[task][name] = row
            per_seed[name].append(scores[name])
    average = {}
    for name in names:
        values = [round(statistics.mean(seed), 4) for seed in zip(*per_seed[name])]
        average[name] = {**stats_of(values), "collapsed": sum(table[t][name]["collapsed"] for t in p.tasks),
                         "runs": sum(table[t][name]["runs"] for t in p.tasks)}
    for name in names[1:]:
        average[name]["vs_baseline"] = compare(average[name]["values"], average[baseline]["values"])
    reference = p.settings.get("reference", {})
    rows = {m: {t: reference[m][t] for t in p.tasks if t in reference.get(m, {})}
            for m in p.settings["models"] if m in reference}
    return {"tasks": p.tasks, "methods": names, "baseline": baseline, "seeds": p.seeds,
            "sweep_seeds": p.sweep_seeds, "settings": p.records, "splits": splits, "sweeps": sweeps or None,
            "table": table, "average": average,
            "average_of": "all eight SuperGLUE tasks" if len(p.tasks) == len(TASKS) else f"the {len(p.tasks)} tasks run",
            "reference": {"label": reference.get("label"), "source": reference.get("source"), "rows": rows},
            "protocol": "each seed's epoch selected on a held-out part of train (holdout per task in settings); "
                        "the split in `splits` reports (official validation)" +
                        ("" if p.sweep_seeds is None else "; non-baseline knobs swept on the same holdout over "
                         "sweep_seeds, disjoint from seeds")}


def _ci(cmp: dict) -> str:
    low, high = cmp["gain_ci"]
    interval = "[—]" if low is None else f"[{low:+.2f}, {high:+.2f}]"
    return f"{cmp['gain']:+.2f} {interval}"


def report(result: dict) -> str:
    tasks, names, base = result["tasks"], result["methods"], result["baseline"]
    head = "| method | " + " | ".join(tasks) + " | average |"
    rule = "|---" * (len(tasks) + 2) + "|"
    lines = [f"Official validation (the protocol's {', '.join(sorted({s['split'] for s in result['splits'].values()}))} "
             f"split: nothing was selected on it), mean +- std over seeds {','.join(map(str, result['seeds']))} at each seed's "
             f"epoch selected on a held-out part of train. Average: SuperGLUE's, over {result['average_of']} "
             "(CB, MultiRC, ReCoRD: the mean of their two metrics).", "", head, rule]
    for name in names:
        cells = [f"{result['table'][t][name]['mean']:.2f} +- {result['table'][t][name]['std']:.2f}" for t in tasks]
        avg = result["average"][name]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {avg['mean']:.2f} +- {avg['std']:.2f} |")
    ref = result["reference"]
    for model, row in ref["rows"].items():
        cells = [f"{row[t]['score']:.1f}" if t in row else "—" for t in tasks]
        lines.append(f"| P-tuning v2 {model} (published) | " + " | ".join(cells) + " | — |")
    if names[1:]:
        lines += ["", f"Gain over {base}, paired by seed, with its bootstrap 95% interval (undefined under 3 seeds):",
                  "", head, rule]
        for name in names[1:]:
            cells = [_ci(result["table"][t][name]["vs_baseline"]) for t in tasks]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {_ci(result['average'][name]['vs_baseline'])} |")
    lines += ["", "Collapsed runs (selected epoch at or below the majority floor, or >= 95% of the split in one class):",
              "", head, rule]
    for name in names:
        cells = [f"{result['table'][t][name]['collapsed']}/{result['table'][t][name]['runs']}" for t in tasks]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {result['average'][name]['collapsed']}/{result['average'][name]['runs']} |")
    if ref["rows"]:
        lines += ["", f"P-tuning v2 rows: {ref['label']} ({ref['source']}); — where none was released."]
    lines += ["", "Settings per task (P-tuning v2's run_script unless said):", "",
              "| task | lr | prefix | epochs | batch | dropout | head | from |", "|---|---|---|---|---|---|---|---|"]
    for task, s in result["settings"].items():
        flags = f"; flags: {', '.join(s['from_flags'])}" if s["from_flags"] else ""
        lines.append(f"| {task} | {s['lr']:g} | {s['prefix_len']} | {s['epochs']} | {s['batch_size']} | {s['dropout']} | "
                     f"{s['pooling']}{' +MLP' if s['prefix_projection'] else ''} | {s['source']}{flags} |")
    if result["sweeps"]:
        lines += ["", "Picked by the sweeps (validation: the held-out part of train; seeds "
                  f"{','.join(map(str, result['sweep_seeds']))}):", ""]
        for task, by_method in result["sweeps"].items():
            for name, s in by_method.items():
                setting = ",".join(f"{k}={v}" for k, v in s["picked"].items())
                notes = ([] if s.get("beats_zero") in (None, True) else ["the zero point (off) scored as high or higher"]) \
                    + ([f"on the {s['edge']} edge of its grid"] if s.get("edge") else [])
                lines.append(f"- {task} {name}: {setting} (validation {s['validation_mean']:.2f})"
                             + (f"; {'; '.join(notes)}" if notes else ""))
    return "\n".join(lines)


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    replace_file(out / "results.json", json.dumps(result, indent=2))
    replace_file(out / "report.md", report(result) + "\n")
    plot(result, out / "paper.png")


def numbers(result: dict) -> dict:
    """results.json without what differs between two machines or engines running the same grid
    (times, paths, hardware): what two such runs must agree on."""
    return {k: v for k, v in result.items() if k != "meta"}


def plot(result: dict, path: Path) -> None:
    """Mean +- std per task (and the average) for each method, P-tuning v2's published numbers as
    black marks; reads results, never trains."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks, names = result["tasks"] + ["average"], result["methods"]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(1.1 * len(tasks) + 2, 4))
    for i, name in enumerate(names):
        rows = [result["table"][t][name] for t in result["tasks"]] + [result["average"][name]]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(tasks))]
        ax.bar(xs, [r["mean"] for r in rows], width, yerr=[r["std"] for r in rows], capsize=2, label=name, color=f"C{i}")
    markers = ("_", "x", "+")
    for k, (model, row) in enumerate(result["reference"]["rows"].items()):
        xs = [j for j, t in enumerate(result["tasks"]) if t in row]
        ax.scatter(xs, [row[result["tasks"][j]]["score"] for j in xs], marker=markers[k % 3], s=160, color="black",
                   zorder=3, label=f"P-tuning v2 {model} (published, 1 seed)")
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel("official validation score (mean +- std over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    replace_png(path, fig)
    plt.close(fig)
