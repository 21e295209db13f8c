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
    """Random edits (nlpaug's synonym swap and deletion, under the protect rule) with a RandomSpec."""

    def __init__(self, task: str, spec: RandomSpec | None = None, seed: int = 0, num_proc: int = 1):
        self.task, self.spec, self.seed, self.num_proc = get_task(task), spec or RandomSpec(), seed, num_proc

    def perturb(self, rows):
        """A Dataset of pairs for a Dataset of rows; the partners' texts for a list of texts."""
        from .build import perturb_split_random

        dataset, field = _dataset(self.task, rows)
        pairs = perturb_split_random(self.task, dataset, self.spec, self.seed, self.num_proc)
        return pairs if field is None else [p["perturbed"][field] for p in pairs]


class AdversarialPerturber:
    """An adversarial search (a recipe of TextAttack's parts, batched) against a victim: an object
    with `predict_proba(examples)` (training.victim.load_victim gives one for a ptp-train run).
    `work` keeps the search's checkpoints (a temporary folder by default)."""

    def __init__(self, task: str, victim, spec=None, work: Path | None = None, log=print):
        from .attack.spec import AttackSpec

        self.task, self.victim, self.log = get_task(task), victim, log
        self.spec, self.work = spec or AttackSpec(), work

    def perturb(self, rows):
        from .attack.run import adversarial_splitter

        dataset, field = _dataset(self.task, rows)
        splitter = adversarial_splitter(self.spec, lambda: self.victim, log=self.log)
        with tempfile.TemporaryDirectory() as scratch:
            result = splitter(self.task, dataset, None, Path(self.work) if self.work else Path(scratch) / "work")
        pairs = result[0] if isinstance(result, tuple) else result
        return pairs if field is None else [p["perturbed"][field] for p in pairs]
