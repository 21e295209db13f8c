"""The data protocol: which rows a run trains, selects and reports on.

The data is opened once, where a command starts (`open_data`: a --pairs corpus, or a task's
source, plus --eval-dir's validation split), and handed down as a `TrainingData`. From it,
`load_training_data` applies the claim protocol (`protocol_splits`: validation selects, test
reports), the few-shot draw (`few_shot_sample`, FewGLUE's 32 examples) and --max-train.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from augment.common.errors import PTPError
from augment.common.tasks import get_task, gold as gold_outputs

from .config import TrainSpec
from .data import check_rows


@dataclass
class TrainingData:
    """A task's splits as opened for training, where they came from, and the identity that names
    run folders (`identity`: computed without reading the rows, so names match earlier runs)."""

    task: str
    splits: dict  # split name -> datasets.Dataset
    provenance: dict  # pairs (a corpus path or None), corpus fingerprint, source, evaluation
    identity: dict
    where: dict = field(default_factory=dict)  # split -> what to name in messages (a path or the task)


def data_identity(task_name: str, pairs=None, source="auto", data_dir=None, eval_dir=None) -> dict:
    """Which data a run trains on, without loading it: the corpus, or the resolved source and a
    fingerprint of its files (so run names, floor and victim caches differ when the data does)."""
    from augment.common.sources import cheap_fingerprint, pick_source

    if pairs is not None:
        return {"pairs": str(Path(pairs).resolve())}
    task = get_task(task_name)
    name = pick_source(task, source, data_dir)
    out = {"source": name, "data": cheap_fingerprint(task, name, data_dir, 0)}
    if eval_dir is not None:
        out["eval"] = cheap_fingerprint(task, "local", eval_dir, 0)
    return out


def open_data(task: str | None = None, pairs=None, source="auto", data_dir=None, eval_dir=None,
              log=print) -> TrainingData:
    """Open the training data once: a ptp-augment corpus (whose manifest names its task), or the
    task's source; `eval_dir`: official files whose val.jsonl is the validation split (FewGLUE:
    train on its 32-example train.jsonl, evaluate on SuperGLUE's val.jsonl)."""
    from augment.common.corpus import load_corpus
    from augment.common.sources import load_task_data

    if pairs is not None:
        data, manifest = load_corpus(pairs, task=task)
        task = manifest["task"]
        provenance = {"pairs": str(pairs), "corpus_fingerprint": manifest["fingerprint"],
                      "source": manifest["source"], "mode": manifest["mode"]}
    elif task is None:
        raise PTPError("pass --task (vanilla) or --pairs (a ptp-augment corpus)")
    else:
        task = get_task(task).name
        data, info = load_task_data(task, source, data_dir, log=log)
        provenance = {"pairs": None, "source": info.to_dict()}
    if eval_dir is not None:
        evaluation, info = load_task_data(task, "local", eval_dir, log=log)
        if "validation" not in evaluation:
            raise PTPError(f"--eval-dir {eval_dir}: no val.jsonl there; point it at the SuperGLUE task folder")
        data = {**data, "validation": evaluation["validation"]}
        provenance["evaluation"] = info.to_dict()
    where = {"train": str(pairs or data_dir or task), "validation": str(eval_dir or pairs or data_dir or task)}
    return TrainingData(task, dict(data), provenance, data_identity(task, pairs, source, data_dir, eval_dir), where)


def few_shot_sample(task, rows: list[dict], size: int, seed: int) -> list[dict]:
    """A `size`-row few-shot train set, as FewGLUE's 32 examples: label-stratified (classes in
    proportion) for labelled tasks; whole questions for
    MultiRC (all answer options of `size` questions); plain random queries for ReCoRD."""
    return [rows[i] for i in few_shot_positions(task, rows, size, seed)]


def few_shot_positions(task, rows: list[dict], size: int, seed: int) -> list[int]:
    """The positions of few_shot_sample's rows, in order."""
    import random

    rng = random.Random(seed)
    if task.kind == "multirc":
        questions = sorted({r["question_id"] for r in rows})
        keep = set(rng.sample(questions, min(size, len(questions))))
        return [i for i, r in enumerate(rows) if r["question_id"] in keep]
    if task.kind == "record":
        return sorted(rng.sample(range(len(rows)), min(size, len(rows))))
    by_label: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_label.setdefault(r["label"], []).append(i)
    size = min(size, len(rows))
    # Largest-remainder allocation: each label gets its share of `size`, rounded to sum exactly.
    exact = {y: size * len(ids) / len(rows) for y, ids in by_label.items()}
    quota = {y: int(v) for y, v in exact.items()}
    for y in sorted(exact, key=lambda y: (quota[y] - exact[y], y))[:size - sum(quota.values())]:
        quota[y] += 1
    return sorted(i for y in sorted(by_label) for i in rng.sample(by_label[y], quota[y]))


def train_positions(spec: TrainSpec, data: TrainingData) -> list[int] | None:
    """Positions in the data's train split of the rows a few-shot run with `spec` trains on (its
    draw, then --max-train), so that a text corpus perturbs those rows only; None without a draw."""
    if spec.train_size is None:
        return None  # every row, or the first --max-train (a corpus's --limit)
    if spec.holdout is not None:
        raise PTPError("--train-size with --holdout and a text corpus: the corpus would be drawn before the "
                       "holdout carve; pass one of them (few-shot sets report on the data's own test split)")
    task = get_task(spec.task)
    positions = few_shot_positions(task, data.splits["train"].to_list(), spec.train_size, spec.sample_seed)
    return positions if spec.max_train is None else positions[:spec.max_train]


def labelled(task, rows: list[dict]) -> bool:
    """Whether every row carries what scoring needs (official test files carry no labels)."""
    if not rows:
        return False
    if task.kind == "record":
        return all(r["answers"] and r["entities"] for r in rows)
    return all(0 <= r["label"] < task.num_labels for r in rows)


def holdout_indices(task, rows: list[dict], fraction: float, seed: int, where) -> tuple[list[int], list[int]]:
    """(kept, held out) row indices: a label-stratified `fraction` of the rows (whole questions for
    MultiRC), drawn with `seed` by the same sampler as few-shot sets."""
    units = len({r["question_id"] for r in rows}) if task.kind == "multirc" else len(rows)
    size = round(fraction * units)
    if not 1 <= size < units:
        raise PTPError(f"{where}: --holdout {fraction} of {units} train {'questions' if task.kind == 'multirc' else 'rows'} "
                       "leaves no validation or no train rows; choose another fraction")
    held = few_shot_sample(task, [dict(r, _row=i) for i, r in enumerate(rows)], size, seed)
    held_set = {r["_row"] for r in held}
    return [i for i in range(len(rows)) if i not in held_set], sorted(held_set)


def protocol_splits(task, data: dict, holdout: float | None, holdout_seed: int, where: str) -> tuple[dict, dict]:
    """The claim protocol's splits and their record: `validation` selects epochs and settings,
    `test` reports. With --holdout, validation is carved out of train and the data's own
    validation split becomes the test; otherwise the data's test split reports when it is
    labelled (WordNet-WiC), and validation reports (flagged) when no labelled test exists."""
    out = dict(data)
    if holdout is not None:
        keep, held = holdout_indices(task, data["train"].to_list(), holdout, holdout_seed, where)
        out.update(train=data["train"].select(keep), validation=data["train"].select(held), test=data.get("validation"))
        record = {"holdout": {"fraction": holdout, "seed": holdout_seed, "rows": len(held)},
                  "validation": f"{len(held)} rows held out of train", "test": "the data's validation split"}
    else:
        record = {"holdout": None, "validation": "the data's validation split", "test": "the data's test split"}
        if out.get("test") is not None and not labelled(task, out["test"].to_list()):
            out.pop("test")
    if out.get("test") is None or len(out["test"]) == 0:
        out.pop("test", None)
        record["test"] = None
    record.update(selects="validation", reports="test" if "test" in out else "validation")
    return out, record


def load_training_data(spec: TrainSpec, data: TrainingData, log=print):
    """(train rows, validation rows, test rows or None, provenance); train rows carry `perturbed`
    when the data is a corpus. Validation selects (epochs, settings), test reports: see `protocol_splits`."""
    task = get_task(spec.task)
    if data.task != task.name:
        raise PTPError(f"{data.where.get('train', data.task)}: holds task '{data.task}', not '{task.name}'")
    provenance = dict(data.provenance)
    where, splits = data.where, data.splits
    if "train" not in splits or len(splits["train"]) == 0:
        raise PTPError(f"{where['train']}: the train split is missing or empty")
    splits, protocol = protocol_splits(task, splits, spec.holdout, spec.holdout_seed, where["train"])
    provenance["protocol"] = protocol
    if "validation" not in splits or len(splits["validation"]) == 0:
        hint = " (a FewGLUE folder has no val.jsonl: pass --eval-dir with the SuperGLUE files, or --holdout)" \
            if "evaluation" not in provenance else ""
        raise PTPError(f"{where['validation']}: the validation split is missing or empty{hint}")
    if protocol["reports"] == "validation":
        log("note: no labelled test split, so validation both selects and reports; pass --holdout F "
            "to select on a held-out part of train and report on validation")
    train, validation = splits["train"].to_list(), splits["validation"].to_list()
    test = splits["test"].to_list() if "test" in splits else None
    if spec.train_size is not None:
        train = few_shot_sample(task, train, spec.train_size, spec.sample_seed)
        provenance["few_shot"] = {"train_size": spec.train_size, "sample_seed": spec.sample_seed,
                                  "rows": len(train), "idx": [r["idx"] for r in train]}
        log(f"few-shot train set: {len(train)} rows drawn with sample seed {spec.sample_seed}")
    if spec.max_train is not None:
        train = train[:spec.max_train]
    check_rows(task, train, "train")
    check_rows(task, validation, "validation")
    if test is not None:
        check_rows(task, test, "test")
    if task.kind == "record":
        # A query none of whose entities is a gold answer gives no training signal (ReCoRD has a
        # few); it is still scored in validation, where it counts as a miss.
        kept = [r for r in train if gold_outputs(task, r)]
        if not kept:
            raise PTPError(f"{where['train']}: no train query has a gold answer among its entities")
        if len(kept) < len(train):
            log(f"train: {len(train) - len(kept)} of {len(train)} queries have no gold answer among their entities; skipped")
        train = kept
    return train, validation, test, provenance
