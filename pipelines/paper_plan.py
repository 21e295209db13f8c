"""The paper's grid, planned: P-tuning v2's per-task settings (pipelines/paper_settings.yaml) read
and overridden, the model matched to a settings row, the tasks' official files found, each
method's sweep grid, all checked before anything trains (pipelines/paper.py runs the plan,
pipelines/paper_report.py writes its table)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from augment.common.errors import PTPError
from augment.common.official_files import OFFICIAL_DIRS
from training.config import TrainSpec

from .engine import Run

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


@dataclass
class Request:
    """What `ptp-pipeline paper` is asked for: the model, the official files (and FewGLUE's), the
    tasks, methods (presets) and seeds, the output folder, settings overridden for every task
    (`overrides`) or one (`sets`: TASK.KEY=V), the sweep (grids, seeds, or none), a settings row
    or file of one's own, the adversarial victim and the tracker."""
    model: str
    data_dir: str
    tasks: str
    methods: dict
    seeds: list
    out: Path
    overrides: dict
    sets: tuple = ()
    grids: tuple = ()
    sweep_seeds: list | None = None
    no_sweep: bool = False
    fewglue: str | None = None
    named_model: str | None = None
    settings_file: str | None = None
    victim: str | None = None
    track: str = "none"


def plan(r: Request) -> Plan:
    """The Plan of a Request, every input checked (one line for each bad one) before anything trains."""
    from .sweep import parse_grid

    names = parse_tasks(r.tasks)
    if not r.methods:
        raise PTPError("--methods: give at least one method")
    if len(set(r.seeds)) != len(r.seeds):
        raise PTPError(f"--seeds {r.seeds}: a seed is repeated")
    if not r.no_sweep:
        if not r.sweep_seeds:
            raise PTPError("--sweep-seeds: give the sweep's seeds (or --no-sweep)")
        shared = sorted(set(r.seeds) & set(r.sweep_seeds))
        if shared:
            raise PTPError(f"--sweep-seeds share {shared} with --seeds: the sweep's seeds must be disjoint from "
                           "the reported ones (the claim protocol)")
    # Absolute paths: a Ray worker (on another machine, with shared storage) starts elsewhere.
    data = task_data(names, Path(r.data_dir).resolve(), Path(r.fewglue).resolve() if r.fewglue else None)
    model = str(Path(r.model).resolve()) if Path(r.model).exists() else r.model
    settings = load_settings(r.settings_file)
    holdout = r.overrides.pop("holdout", None) or DEFAULT_HOLDOUT
    config = model_config(model)
    row_model = settings_model(config, settings, r.named_model)
    specs, records = task_specs(names, model, config, row_model, settings, r.overrides,
                                parse_sets(list(r.sets), names), holdout)
    given = parse_grids(list(r.grids), list(r.methods))
    baseline = next(iter(r.methods))
    parsed = {}
    if not r.no_sweep:
        for name, preset in r.methods.items():
            if name == baseline and name not in given:
                continue
            parsed[name] = parse_grid(given.get(name) or default_grid(name, preset))
    return Plan(names, r.methods, r.seeds, specs, records, data, parsed, None if r.no_sweep else r.sweep_seeds,
                Path(r.out).resolve(),
                row_model, settings, r.victim, r.track)


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


def run_count(p: Plan) -> dict:
    sweep = sum(len(sweep_runs(p, t)) for t in p.tasks) if p.grids else 0
    return {"sweep": sweep, "reported": len(p.tasks) * len(p.methods) * len(p.seeds)}
