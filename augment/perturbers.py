"""Stage 1 as objects: a random and an adversarial perturber, each holding its config, whose
`.perturb(rows)` gives the partners `ptp-augment build` saves for the same settings (the same
functions make them: perturb_split_random, and the adversarial search of augment/attack/run.py).

    from augment.perturbers import RandomPerturber, AdversarialPerturber
    from augment.random_ops import RandomSpec

    pairs = RandomPerturber("sentiment", RandomSpec(rate=0.1), seed=0).perturb(train_split)  # a Dataset
    partners = RandomPerturber("sentiment").perturb(["A fine, moving film."])                # texts

`pairs` has the build's columns: the original row, `perturbed` (the partner's input fields) and
`perturbation` (its record, whose `row` is the original's index in `rows`).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .common.errors import PTPError
from .common.tasks import get_task
from .random_ops import RandomSpec


def _dataset(task, rows):
    """`rows` as a Dataset of the task's columns: a Dataset as it is, or texts in the task's one
    perturbable field (a task with several fields needs a Dataset)."""
    from datasets import Dataset

    if hasattr(rows, "column_names"):
        return rows, None
    texts = list(rows)
    if len(task.perturbable) != 1:
        raise PTPError(f"task {task.name} perturbs {', '.join(task.perturbable)}: pass a Dataset of its rows, not texts")
    field = task.perturbable[0]
    if not all(isinstance(t, str) for t in texts):
        raise PTPError("perturb(): pass a datasets.Dataset of the task's rows, or a list of strings")
    row = {f: "" for f in task.input_fields}
    return Dataset.from_list([{**row, field: t, "label": 0} for t in texts]), field


class RandomPerturber:
    """Random edits (nlpaug's synonym swap and deletion, under the protect rule) with a RandomSpec,
    seeded: the same rows and seed give the same partners, over any number of processes."""

    mode = "random"

    def __init__(self, task: str, spec: RandomSpec | None = None, seed: int = 0, num_proc: int = 1):
        if num_proc < 1:
            raise PTPError(f"--num-proc {num_proc}: must be at least 1")
        self.task, self.spec, self.seed, self.num_proc = get_task(task), spec or RandomSpec(), seed, num_proc

    def pairs(self, train, work: Path | None = None):
        """The pairs of a Dataset of the task's rows (what build_corpus saves as its train split)."""
        from .build import perturb_split_random

        return perturb_split_random(self.task, train, self.spec, self.seed, self.num_proc)

    def perturb(self, rows):
        """A Dataset of pairs for a Dataset of rows; the partners' texts for a list of texts."""
        dataset, field = _dataset(self.task, rows)
        pairs = self.pairs(dataset)
        return pairs if field is None else [p["perturbed"][field] for p in pairs]


class AdversarialPerturber:
    """An adversarial search (a recipe of TextAttack's parts, batched) against a victim: an object
    with `predict_proba(examples)` (training.victim.load_victim gives one for a ptp-train run), or
    a function that loads one (called only when rows are attacked). The search is deterministic:
    it takes no seed."""

    mode, seed = "adversarial", None

    def __init__(self, task: str, victim, spec=None, log=print):
        from .attack.spec import AttackSpec

        self.task, self.log, self.spec = get_task(task), log, spec or AttackSpec()
        self.load = victim if callable(victim) and not hasattr(victim, "predict_proba") else (lambda: victim)

    def pairs(self, train, work: Path):
        """(pairs, summary) of a Dataset of rows, checkpointed in `work` (None in a shard that
        does not write: see augment/attack/run.py)."""
        from .attack.run import adversarial_splitter

        return adversarial_splitter(self.spec, self.load, log=self.log)(self.task, train, None, Path(work))

    def perturb(self, rows, work: Path | None = None):
        dataset, field = _dataset(self.task, rows)
        with tempfile.TemporaryDirectory() as scratch:
            result = self.pairs(dataset, Path(work) if work else Path(scratch) / "work")
        pairs = result[0] if isinstance(result, tuple) else result
        return pairs if field is None else [p["perturbed"][field] for p in pairs]
