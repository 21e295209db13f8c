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

import platform
import time

from .engine import Engine
from .paper_plan import Plan, reported_runs, sweep_runs
from .paper_report import collect, write


def run_paper(p: Plan, engine: Engine, log=print) -> dict:
    from training.protocol import open_data

    from .experiment import Experiment
    from .stability import stability
    from .sweep import sweep, write_preset

    started = time.time()
    data = {t: open_data(t, log=lambda *_: None, **p.data[t]) for t in p.tasks}

    def experiment(task: str) -> Experiment:
        return Experiment(task, "local", p.data[task]["data_dir"], p.victim, log, p.track, data[task])

    picked = {t: dict(p.methods) for t in p.tasks}
    sweeps = {}
    if p.grids:
        engine.train_all([r for t in p.tasks for r in sweep_runs(p, t)], log)
        for task in p.tasks:
            for name, grid in p.grids.items():
                log(f"=== {task}: sweeping {name} on {p.specs[task].holdout:g} of train, seeds "
                    f"{','.join(map(str, p.sweep_seeds))}")
                folder = p.out / task / "sweep" / name
                result = sweep(experiment(task), name, p.methods[name], grid, p.sweep_seeds, folder, p.specs[task])
                write_preset(p.out / task / "sweep" / "presets.json", name, result)
                picked[task][name] = result["picked"]["preset"]
                sweeps.setdefault(task, {})[name] = {"picked": result["picked"]["setting"],
                                                     "validation_mean": result["picked"]["validation_mean"],
                                                     "grid": grid, "beats_zero": result["beats_zero"],
                                                     "edge": result["edge"]}
    engine.train_all([r for t in p.tasks for r in reported_runs(p, t, picked[t])], log)
    for task in p.tasks:
        log(f"=== {task}: {', '.join(p.methods)} on seeds {','.join(map(str, p.seeds))}")
        stability(experiment(task), p.seeds, picked[task], p.out / task, p.specs[task])
    result = collect(p, sweeps)
    result["meta"] = {"engine": engine.name, "seconds": round(time.time() - started, 1), "out": str(p.out),
                      "model": p.specs[p.tasks[0]].model, "data": p.data, "machine": platform.node(),
                      "python": platform.python_version(),
                      **({"ray_address": engine.address, "gpus_per_run": engine.gpus_per_run,
                          "cpus_per_run": engine.cpus_per_run} if engine.name == "ray" else {})}
    write(result, p.out)
    log((p.out / "report.md").read_text())
    return result
