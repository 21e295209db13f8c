"""Build a corpus of original/perturbed pairs for a task: the library function behind
`ptp-augment build`.

Layout of the saved DatasetDict (schema version 1):
- train: the task's fields (the original), `perturbed` (a struct with the same fields after the
  edit, offsets recomputed) and `perturbation` (ops, words_changed, changed, attempts, variant,
  row = index of the original in the source train split); adversarial corpora add `attack`.
- validation / test (whichever the source has): copied unperturbed, so the folder alone is
  enough for the trainer.
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import shutil
import time
from pathlib import Path

from .common.corpus import (SCHEMA_VERSION, atomic_save, ensure_writable, fingerprint_of, read_manifest,
                     write_lock)
from .common.errors import PTPError
from .common.schema import features_for
from .shards import Shard
from .common.sources import cheap_fingerprint, load_task_data, pick_source
from .common.tasks import Task, get_task

MODES = ("random", "adversarial")
# Bump when a change to the perturbation code changes its output. 2: random partners edited by
# character offsets (untouched text byte for byte), stopwords matched in any case, swaps keep case.
CODE_VERSION = "2"
KEY_PACKAGES = ("torch", "transformers", "datasets", "peft", "accelerate", "nlpaug", "textattack", "nltk")


def versions() -> dict[str, str]:
    out = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def default_out(task: str, mode: str) -> Path:
    return Path("data") / f"{task}_{'rand' if mode == 'random' else 'adv'}"


def pair_features(task: Task, extra: dict | None = None):
    from datasets import Features, Sequence, Value

    base = features_for(task)
    inputs = {k: v for k, v in base.items() if k in task.input_fields}
    feats = dict(base)
    feats["perturbed"] = inputs
    feats["perturbation"] = {
        "ops": Sequence(Value("string")), "words_changed": Value("int32"), "changed": Value("bool"),
        "attempts": Value("int32"), "variant": Value("int32"), "row": Value("int64"),
    }
    feats.update(extra or {})
    return Features(feats)


def _perturb_batch(batch: dict, indices: list[int], task: Task, spec, seed: int) -> dict:
    from .random_ops import perturb_example

    keys = list(batch)
    out = {k: [] for k in keys + ["perturbed", "perturbation"]}
    for pos, row in enumerate(indices):
        example = {k: batch[k][pos] for k in keys}
        for variant in range(spec.variants):
            perturbed, record = perturb_example(task, example, spec, seed, row, variant)
            for k in keys:
                out[k].append(example[k])
            out["perturbed"].append({k: perturbed[k] for k in task.input_fields})
            out["perturbation"].append({**record, "row": row})
    return out


def perturb_split_random(task: Task, split, spec, seed: int, num_proc: int = 1):
    """Every row of `split` -> `spec.variants` pair rows, identical for any `num_proc`."""
    import multiprocessing

    from datasets import Dataset

    from .random_ops import prepare

    prepare(spec)  # before the workers fork, so that they share what it loads
    features = pair_features(task)
    kwargs = {"task": task, "spec": spec, "seed": seed}
    if num_proc <= 1 or len(split) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return split.map(_perturb_batch, batched=True, batch_size=64, with_indices=True, fn_kwargs=kwargs,
                         features=features, keep_in_memory=True, desc=f"perturbing {task.name} (random)")
    # Forked workers over contiguous slices, joined in order. Not datasets' map(num_proc=...): it
    # moves each shard and its result through Arrow files and pickles, about 0.3-0.6 s a call,
    # a third of a 2,000-row build's time on 2 cores; a fork shares everything `prepare` loaded.
    bounds = [round(len(split) * k / num_proc) for k in range(num_proc + 1)]
    jobs = [(split[a:b], list(range(a, b)), kwargs) for a, b in zip(bounds, bounds[1:]) if b > a]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        parts = pool.starmap(_perturb_slice, jobs)
    return Dataset.from_dict({k: sum((part[k] for part in parts), []) for k in parts[0]}, features=features)


def _perturb_slice(batch: dict, indices: list[int], kwargs: dict) -> dict:
    return _perturb_batch(batch, indices, **kwargs)


def dataset_card(manifest: dict) -> str:
    task, mode = manifest["task"], manifest["mode"]
    counts = ", ".join(f"{k}: {v}" for k, v in manifest["counts"].items())
    return f"""# {task} — {mode} perturbation pairs (ptp-augment)

Built by `ptp-augment build --task {task} --mode {mode}` (schema version {manifest['schema_version']}).

- Source: {manifest['source']['name']} ({manifest['source']['location']}), fingerprint {manifest['source']['fingerprint']}
- Parameters: `{manifest['params']}`, seed {manifest['seed']}
- Rows: {counts}; changed pairs {manifest['summary']['changed']}, unchanged {manifest['summary']['unchanged']}
- Corpus fingerprint: {manifest['fingerprint']}

## Load

```python
import datasets
pairs = datasets.load_from_disk("{manifest['out']}")
pairs["train"][0]["perturbed"]      # the edited example, same fields as the original
pairs["train"][0]["perturbation"]   # ops, words_changed, changed, attempts, variant, row
```

The train split holds the original fields, `perturbed` (same fields after the edit; protected
spans untouched, their offsets recomputed) and `perturbation`. Validation and test are copied
unperturbed. `ptp_manifest.json` records how the corpus was made.
"""


def build_corpus(perturber, out=None, source: str = "auto", data_dir=None, force: bool = False, rows=None,
                 jsonl: bool = False, log=print):
    """Build (or reuse) the corpus of `perturber`'s pairs over the source's train rows; returns
    (folder, manifest).

    `perturber` is stage 1's object (augment/perturbers.py): a RandomPerturber (task, RandomSpec,
    seed, processes) or an AdversarialPerturber (task, victim, AttackSpec); its task, mode, spec
    and seed key the corpus. `rows`: the first N train rows (an int: --limit), or these row
    positions (a list: a few-shot draw), or all.
    """
    task_name, mode, spec, seed = perturber.task.name, perturber.mode, perturber.spec, perturber.seed
    num_proc = getattr(perturber, "num_proc", 1)
    limit, rows = (rows, None) if isinstance(rows, int) and not isinstance(rows, bool) else (None, rows)
    task = get_task(task_name)
    out = Path(out) if out is not None else default_out(task.name, mode)
    if num_proc < 1:
        raise PTPError(f"--num-proc {num_proc}: must be at least 1")
    source = pick_source(task, source, data_dir)
    if limit is not None and limit < 1:
        raise PTPError(f"--limit {limit}: must be at least 1")
    key = {"task": task.name, "mode": mode, "params": spec.to_dict(), "seed": seed, "source": source,
           "limit": limit,
           "source_fingerprint": cheap_fingerprint(task, source, data_dir, 0),
           "schema": SCHEMA_VERSION, "code": CODE_VERSION}
    if rows is not None:  # a few-shot draw: only its rows are perturbed (keyed, so draws never share a corpus)
        key["rows"] = fingerprint_of({"rows": list(rows)})

    def cached():
        manifest = read_manifest(out)
        if not force and key["source_fingerprint"] and manifest and manifest.get("fingerprint") == fingerprint_of(key):
            log(f"cached: {out} already holds this corpus (fingerprint {manifest['fingerprint']}); "
                "--force rebuilds")
            return manifest
        return None

    if (hit := cached()) is not None:
        return out, hit
    ensure_writable(out)
    shard = Shard.from_env()
    if not shard.main and mode == "random":
        # Random edits of even 10,000 rows take under a minute in one process (--num-proc for more).
        log(f"shard {shard.rank}: random builds run in shard 0 only")
        return out, None
    # Sharded adversarial builds: every shard attacks its rows; shard 0 alone locks and writes.
    with write_lock(out) if shard.main else contextlib.nullcontext():
        started = time.time()
        data, info = load_task_data(task.name, source, data_dir, log=log)
        key["source_fingerprint"] = info.fingerprint
        if (hit := cached()) is not None:
            return out, hit
        if "train" not in data or len(data["train"]) == 0:
            raise PTPError(f"{info.location}: no train rows to perturb; the train split is missing or empty")
        fp = fingerprint_of(key)
        train = data["train"] if limit is None else data["train"].select(range(min(limit, len(data["train"]))))
        if rows is not None:
            if rows and max(rows) >= len(train):
                raise PTPError(f"row {max(rows)} is outside the train split ({len(train)} rows)")
            train = train.select(rows)
        # Checkpoints of long builds live here, keyed by the fingerprint, until the corpus is saved.
        work = out.parent / f".{out.name}.work-{fp}"
        result = perturber.pairs(train, work)
        if result is None:  # a shard other than 0: its rows are checkpointed in `work`
            return out, None
        pairs, extra_summary = result if isinstance(result, tuple) else (result, {})
        from datasets import DatasetDict

        splits = {"train": pairs.select_columns(pairs.column_names, new_fingerprint=f"{fp}-train")}
        for name, ds in data.items():
            if name != "train":
                splits[name] = ds.select_columns(ds.column_names, new_fingerprint=f"{fp}-{name}")
        records = pairs["perturbation"]
        changed = sum(r["changed"] for r in records)
        manifest = {
            "schema_version": SCHEMA_VERSION, "task": task.name, "task_definition": task.definition or None,
            "mode": mode, "params": spec.to_dict(),
            "seed": seed, "limit": limit, "source": info.to_dict(), "fingerprint": fp, "out": str(out),
            "counts": {k: len(v) for k, v in splits.items()},
            "summary": {"changed": changed, "unchanged": len(records) - changed,
                        "mean_words_changed": round(sum(r["words_changed"] for r in records) / max(len(records), 1), 3)},
            "versions": versions(), "seconds": round(time.time() - started, 2), "num_proc": num_proc,
        }
        manifest["summary"].update(extra_summary)
        atomic_save(DatasetDict(splits), out, extra={"README.md": dataset_card(manifest)},
                    manifest=manifest, jsonl=jsonl)
        shutil.rmtree(work, ignore_errors=True)
        log(f"wrote {out}: " + ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
            + f"; {changed}/{len(records)} pairs changed, {manifest['seconds']} s")
        return out, manifest
