"""Embedding-space regularisers: one file each, one record each, one table from names to records.

A regulariser is a `Regulariser` record (as PEFT keeps one record per tuning method): its name
(the `--embed-noise` value), the function that computes its perturbed term for a batch, the
`TrainSpec` knobs it reads, whether it needs the clean prediction before it perturbs, how its
knobs are stored in run files written before they had names of their own, any cross-check of the
spec, and the preset experiments run it under. Each module of this package defines one, named
`REGULARISER`; `REGULARISERS` collects them in name order and refuses a name twice. Adding one is
adding a module here (and its test): see docs/extending.md.

A term function receives the training step's view of one batch (`training.objective.Batch`):
    step.embeds, step.mask     input embeddings of the perturbed view (the text partner, or the
                               clean input), and which of its positions are real tokens
    step.generator             the run's row-keyed random draws (perturb.RowNoise)
    step.spec                  the TrainSpec
    step.view_scores(e)        [rows, outputs] scores of the view with embeddings `e`
    step.clean_scores()        the clean batch's scores (with gradients)
    step.clean_target()        the same, detached: a fixed target
    step.both(e)               (clean scores, scores of the view with `e`) in one forward pass
    step.consistency(c, p)     the spec's consistency term (ce | kl) between them
and returns `(clean scores, perturbed term, finite)`: the loop adds lambda * term to the clean
cross-entropy, and skips the step when an ascent was not finite.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from augment.common.registry import collect


@dataclass(frozen=True)
class Regulariser:
    name: str
    term: Callable  # (step) -> (clean scores, perturbed term, every ascent step finite)
    knobs: tuple[str, ...]  # the TrainSpec fields it reads, each with one meaning
    needs_clean: bool  # forwards the clean batch before it perturbs (a target, or FreeLB's clean loss)
    paper: str  # what it follows, and where it departs
    preset: tuple[str, dict] | None = None  # (name, TrainSpec settings) for ptp-pipeline
    # Knobs that run files written before they had their own name store under another field:
    # {knob: stored field}. Keeps every earlier run folder, cache name and config valid.
    stored_as: dict[str, str] = field(default_factory=dict)
    check: Callable | None = None  # (spec) -> None, raising PTPError on a bad combination


REGULARISERS: dict[str, Regulariser] = collect(__name__, __path__, "REGULARISER")
