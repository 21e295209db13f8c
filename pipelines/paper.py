"""The PTP paper's experiment in one command: SuperGLUE (or FewGLUE) tasks x methods x seeds, with
P-tuning v2's per-task settings (pipelines/paper_settings.yaml) as defaults, under the claim protocol.

Per task, in OUT/<task>/:
- unless `no_sweep`, each method but the baseline has its knobs swept (pipelines/sweep.py) on a
  held-out part of train (`holdout`), over `sweep_seeds`, which must be disjoint from `seeds`;
  the baseline (vanilla) keeps P-tuning v2's published setting;
- every method (the picked settings) on every seed (pipelines/stability.py): each seed's epoch is
  selected on the held-out part of train, and the official validation split reports
  (SuperGLUE's test labels are hidden).
Then, in OUT: report.md (task x method, mean +- std over seeds, the SuperGLUE average, the gain over
the baseline with a paired 95% interval, collapsed runs, P-tuning v2's published numbers as
reference rows), results.json and paper.png. A rerun reuses every finished run (run_seeds), so a
killed grid resumes where it stopped. Runs train here or as Ray tasks (pipelines/engine.py).
"""
from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from augment.common.atomic import replace_file, replace_png
from augment.common.errors import PTPError
from augment.common.official_files import OFFICIAL_DIRS
from augment.common.tasks import get_task
from training.config import TrainSpec

from .engine import Engine, Run
from .stats import compare

SETTINGS_FILE = Path(__file__).with_name("paper_settings.yaml")
TASKS = ("boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc")
# What a task with no published setting must be given (the rest: `common` and the published rows' values).
REQUIRED = ("lr", "prefix_len", "epochs", "batch_size")
ROW_META = ("run_script", "published", "note")
DEFAULT_HOLDOUT = 0.1
GRID_FACTORS = (0.5, 1.0, 2.0)


def load_settings(path: Path | None = None) -> dict:
    path = Path(path or SETTINGS_FILE)
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PTPError(f"{path}: cannot read the settings file ({err})") from None


def parse_tasks(text: str) -> list[str]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return list(TASKS)
    unknown = [t for t in names if t not in TASKS]
    if unknown or not names:
        raise PTPError(f"--tasks {text!r}: choose 'all' or a comma list of {', '.join(TASKS)}")
    return names


def parse_sets(items: list[str], tasks: list[str]) -> dict[str, dict]:
    """--set TASK.KEY=V (repeatable): one task's setting, e.g. cb.lr=1e-2."""
    from .sweep import parse_value

    known = {f.name for f in fields(TrainSpec)} - {"task", "seed", "task_definition"}
    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        task, dot, name = key.strip().partition(".")
        if not sep or not dot or not value.strip():
            raise PTPError(f"--set {item!r}: expected TASK.KEY=VALUE, e.g. cb.lr=1e-2")
        if task not in tasks:
            raise PTPError(f"--set {item!r}: '{task}' is not one of the tasks run ({', '.join(tasks)})")
        name = name.replace("-", "_")
        if name not in known:
            raise PTPError(f"--set {item!r}: unknown setting '{name}'")
        out.setdefault(task, {})[name] = parse_value(value.strip())
    return out


def parse_grids(items: list[str], methods: list[str]) -> dict[str, list[str]]:
    """--grid METHOD:KEY=V1,V2 (repeatable; several keys of one method make a product)."""
    out: dict[str, list[str]] = {}
    for item in items:
        method, sep, grid = item.partition(":")
        if not sep or method.strip() not in methods:
            raise PTPError(f"--grid {item!r}: expected METHOD:KEY=V1,V2 with METHOD one of {', '.join(methods)}")
        out.setdefault(method.strip(), []).append(grid)
    return out


def default_grid(name: str, preset: dict) -> list[str]:
    """A method's sweep when none is given: its regulariser's first size knob that the preset sets
    (sigma, eps, rho, ...) at x0.5, x1, x2 of the preset's value; a text method's lambda at 0.5, 1, 2."""
    from training.regularisers import REGULARISERS

    train = preset["train"]
    for knob in REGULARISERS[train.get("embed_noise", "none")].knobs:
        value = train.get(knob.name)
        if isinstance(value, float) and value > 0:
            return [f"{knob.name}=" + ",".join(f"{value * f:g}" for f in GRID_FACTORS)]
    return ["lam=" + ",".join(f"{f:g}" for f in GRID_FACTORS)]


def model_config(model: str) -> dict:
    """The model's config.json, checking that it loads offline (config, tokenizer and weights)."""
    from transformers import AutoConfig, AutoTokenizer

    from training.model import resolve_model_path

    path = resolve_model_path(model)
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise PTPError(f"--model {model}: cannot be loaded offline ({str(err).splitlines()[0][:160]}); pass a "
                       "local checkpoint folder, or download it first") from None
    folder = Path(path)
    if folder.is_dir() and not any(folder.glob(p) for p in ("*.safetensors", "*.bin", "*.safetensors.index.json")):
        raise PTPError(f"--model {model}: {folder} holds no weights (*.safetensors or *.bin)")
    return config.to_dict()


def settings_model(config: dict, settings: dict, named: str | None) -> str | None:
    """Which settings rows a model takes: `named` (--settings-model), else the row whose
    model_type and size match the model's config.json; None when none does."""
    models = settings["models"]
    if named is not None:
        if named not in models:
            raise PTPError(f"--settings-model {named}: choose one of {', '.join(models)}")
        return named
    for name, row in models.items():
        if all(config.get(k) == v for k, v in row.items() if k != "checkpoint"):
            return name
    return None


def task_specs(tasks: list[str], model: str, config: dict, row_model: str | None, settings: dict,
               overrides: dict, per_task: dict[str, dict], holdout: float) -> tuple[dict, dict]:
    """Per task: its TrainSpec (published row, then the flags for every task, then --set TASK.KEY=V)
    and the record of where each value came from. Refuses a task left without a setting, naming
    the flags to pass."""
    specs, records = {}, {}
    missing = {}
    for task in tasks:
        row = dict(settings["settings"][row_model].get(task, {})) if row_model else {}
        published = bool(row) and row.get("published", True)
        values = {**settings["common"], **({k: v for k, v in row.items() if k not in ROW_META} if published else {}),
                  **overrides, **per_task.get(task, {})}
        values.setdefault("holdout", holdout)
        if not published:
            values.setdefault("dropout", 0.1)  # every published row's; not a published setting for this task
            values.setdefault("pooling", "cls")
        lacking = [k for k in REQUIRED if k not in values]
        if lacking:
            missing[task] = lacking
            continue
        specs[task] = TrainSpec(task=task, model=model, **values)
        records[task] = {"settings_model": row_model, "published": published,
                         "source": row.get("run_script") if published else
                         (row.get("note") or f"no settings row for this model ({describe_model(config)})"),
                         "from_flags": sorted(set(overrides) | set(per_task.get(task, {}))),
                         **{k: getattr(specs[task], k) for k in ("lr", "prefix_len", "epochs", "batch_size", "dropout",
                                                                   "pooling", "prefix_projection", "method", "max_length",
                                                                   "holdout")}}
    if missing:
        why = (f"P-tuning v2 published no setting for {', '.join(missing)} ({row_model})" if row_model else
               f"no settings row for --model {model} ({describe_model(config)}); pass --settings-model "
               f"{' or '.join(settings['models'])} to take one's settings, or")
        keys = [k for k in REQUIRED if any(k in ks for ks in missing.values())]
        flags = " ".join(f"--{k.replace('_', '-')} V" for k in keys)
        task = next(iter(missing))
        raise PTPError(f"{why}: {', '.join(missing)} need {', '.join(keys)}: pass {flags} (every task) or "
                       f"--set TASK.KEY=V per task (e.g. --set {task}.{keys[0]}=V)")
    return specs, records


def describe_model(config: dict) -> str:
    return (f"model_type {config.get('model_type')}, hidden size {config.get('hidden_size')}, "
            f"{config.get('num_hidden_layers')} layers")


def task_data(tasks: list[str], data_dir: Path, fewglue: Path | None) -> dict[str, dict]:
    """open_data's arguments per task: SuperGLUE's <Task>/ folder (train.jsonl, val.jsonl), or
    FewGLUE's <Task>/train.jsonl with SuperGLUE's val.jsonl as the reported split."""
    out, problems = {}, []
    for task in tasks:
        official = data_dir / OFFICIAL_DIRS[task]
        train = (fewglue / OFFICIAL_DIRS[task]) if fewglue else official
        for folder, name in ((train, "train.jsonl"), (official, "val.jsonl")):
            if not (folder / name).is_file():
                problems.append(str(folder / name))
        out[task] = {"source": "local", "data_dir": str(train), **({"eval_dir": str(official)} if fewglue else {})}
    if problems:
        root = "--data-dir (a SuperGLUE root: BoolQ/, CB/, COPA/, MultiRC/, ReCoRD/, RTE/, WiC/, WSC/)"
        raise PTPError(f"missing {', '.join(problems)}: {root}" + (" and --fewglue" if fewglue else ""))
    return out


@dataclass
class Plan:
    """Everything the grid needs, checked before anything trains."""
    tasks: list[str]
    methods: dict[str, dict]
    seeds: list[int]
    specs: dict
    records: dict
    data: dict
    grids: dict  # method -> parsed grid ({} for the baseline or --no-sweep)
    sweep_seeds: list[int] | None
    out: Path
    row_model: str | None
    settings: dict
    victim: str | None = None
    track: str = "none"


def plan(model: str, data_dir, tasks: str, methods: dict[str, dict], seeds: list[int], out, overrides: dict,
         sets: list[str] = (), grids: list[str] = (), sweep_seeds: list[int] | None = None, no_sweep: bool = False,
         fewglue=None, named_model: str | None = None, settings_file=None, victim=None, track="none") -> Plan:
    from .sweep import parse_grid

    names = parse_tasks(tasks)
    if not methods:
        raise PTPError("--methods: give at least one method")
    if len(set(seeds)) != len(seeds):
        raise PTPError(f"--seeds {seeds}: a seed is repeated")
    if not no_sweep:
        if not sweep_seeds:
            raise PTPError("--sweep-seeds: give the sweep's seeds (or --no-sweep)")
        shared = sorted(set(seeds) & set(sweep_seeds))
        if shared:
            raise PTPError(f"--sweep-seeds share {shared} with --seeds: the sweep's seeds must be disjoint from "
                           "the reported ones (the claim protocol)")
    # Absolute paths: a Ray worker (on another machine, with shared storage) starts elsewhere.
    data = task_data(names, Path(data_dir).resolve(), Path(fewglue).resolve() if fewglue else None)
    if Path(model).exists():
        model = str(Path(model).resolve())
    settings = load_settings(settings_file)
    holdout = overrides.pop("holdout", None) or DEFAULT_HOLDOUT
    config = model_config(model)
    row_model = settings_model(config, settings, named_model)
    specs, records = task_specs(names, model, config, row_model, settings, overrides,
                                parse_sets(list(sets), names), holdout)
    given = parse_grids(list(grids), list(methods))
    baseline = next(iter(methods))
    parsed = {}
    if not no_sweep:
        for name, preset in methods.items():
            if name == baseline and name not in given:
                continue
            parsed[name] = parse_grid(given.get(name) or default_grid(name, preset))
    return Plan(names, methods, seeds, specs, records, data, parsed, None if no_sweep else sweep_seeds,
                Path(out).resolve(),
                row_model, settings, victim, track)


def sweep_runs(p: Plan, task: str) -> list[Run]:
    """The sweep's runs for one task, where pipelines/sweep.py puts them."""
    from .engine import sweep_runs as runs_of

    return [r for name, grid in p.grids.items()
            for r in runs_of(task, name, p.methods[name], grid, p.sweep_seeds, p.out / task / "sweep" / name,
                             p.specs[task], p.data[task], p.victim, p.track)]


def reported_runs(p: Plan, task: str, methods: dict[str, dict]) -> list[Run]:
    """The reported runs for one task, where pipelines/stability.py puts them."""
    from .engine import stability_runs

    return stability_runs(task, p.seeds, methods, p.out / task, p.specs[task], p.data[task], p.victim, p.track)


def run_paper(p: Plan, engine: Engine, log=print) -> dict:
    from training.protocol import open_data

    from .stability import stability
    from .sweep import sweep, write_preset

    started = time.time()
    data = {t: open_data(t, log=lambda *_: None, **p.data[t]) for t in p.tasks}
    picked = {t: dict(p.methods) for t in p.tasks}
    sweeps = {}
    if p.grids:
        engine.train_all([r for t in p.tasks for r in sweep_runs(p, t)], log)
        for task in p.tasks:
            for name, grid in p.grids.items():
                log(f"=== {task}: sweeping {name} on {p.specs[task].holdout:g} of train, seeds "
                    f"{','.join(map(str, p.sweep_seeds))}")
                folder = p.out / task / "sweep" / name
                result = sweep(task, name, p.methods[name], grid, p.sweep_seeds, folder, p.specs[task],
                               source="local", data_dir=p.data[task]["data_dir"], victim=p.victim, log=log,
                               track=p.track, data=data[task])
                write_preset(p.out / task / "sweep" / "presets.json", name, result)
                picked[task][name] = result["picked"]["preset"]
                sweeps.setdefault(task, {})[name] = {"picked": result["picked"]["setting"],
                                                     "validation_mean": result["picked"]["validation_mean"],
                                                     "grid": grid, "beats_zero": result["beats_zero"],
                                                     "edge": result["edge"]}
    engine.train_all([r for t in p.tasks for r in reported_runs(p, t, picked[t])], log)
    for task in p.tasks:
        log(f"=== {task}: {', '.join(p.methods)} on seeds {','.join(map(str, p.seeds))}")
        stability(task, p.seeds, picked[task], p.out / task, p.specs[task], source="local",
                  data_dir=p.data[task]["data_dir"], victim=p.victim, log=log, track=p.track, data=data[task])
    result = collect(p, sweeps)
    result["meta"] = {"engine": engine.name, "seconds": round(time.time() - started, 1), "out": str(p.out),
                      "model": p.specs[p.tasks[0]].model, "data": p.data, "machine": platform.node(),
                      "python": platform.python_version(),
                      **({"ray_address": engine.address, "gpus_per_run": engine.gpus_per_run,
                          "cpus_per_run": engine.cpus_per_run} if engine.name == "ray" else {})}
    write(result, p.out)
    log((p.out / "report.md").read_text())
    return result


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


def run_count(p: Plan) -> dict:
    sweep = sum(len(sweep_runs(p, t)) for t in p.tasks) if p.grids else 0
    return {"sweep": sweep, "reported": len(p.tasks) * len(p.methods) * len(p.seeds)}
