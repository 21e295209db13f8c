"""Regularisers: one file each, one record each, one table from names to records.

A regulariser is a `Regulariser` record (as PEFT keeps one config and one model per tuning
method): its name (the `--embed-noise` value), the function that computes its perturbed term for
a batch, the knobs it reads (each a `Knob`: name, type, default, help, bounds and what kind of
size it is), any cross-check of the spec, and the preset experiments run it under. Each module of this package defines one, named
`REGULARISER`; `REGULARISERS` collects them in name order and refuses a name twice. `TrainSpec`
(training/config.py) gets one field and one `ptp-train` option per knob, and `--radii relative`
scales each knob by its size kind: adding a regulariser is adding a module here (and its test),
see docs/extending.md.

A term function receives the training step's view of one batch (`training.objective.Batch`):
    step.embeds, step.mask     input embeddings of the perturbed view (the text partner, or the
                               clean input), and which of its positions are real tokens
    step.generator             the run's row-keyed random draws (perturb.RowNoise)
    step.spec                  the TrainSpec
    step.view_scores(e)        [rows, outputs] scores of the view with embeddings `e`
    step.clean_scores()        the clean batch's scores (with gradients)
    step.clean_scores(params)  the same with some parameters replaced ({name: tensor}, e.g. the
                               trained ones plus a perturbation: gradients reach the originals)
    step.trained(prompt_only)  the trained parameters by name (prompt and head; or the prompt's)
    step.task_loss(s)          the task's cross-entropy of scores `s`
    step.clean_target()        the same, detached: a fixed target
    step.both(e)               (clean scores, scores of the view with `e`) in one forward pass
    step.consistency(c, p)     the spec's consistency term (ce | kl) between them
and returns `(clean scores, perturbed term, finite)`: the loop adds lambda * term to the clean
cross-entropy (or, with `adds_clean_loss=False`, trains on the term alone), and skips the step
when an ascent was not finite. Random draws come from `step.generator` through perturb's `randn`
and `rand` (one per row) or `shared_randn` (one per step, the same on every process).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from augment.common.registry import collect

# What kind of size a knob is, which `--radii relative` reads: a per-coordinate size (a noise std,
# scaled by the token embeddings' per-coordinate RMS), an example's l2 radius or step (scaled by
# their mean l2 norm; by the RMS under --norm linf, where every radius is per coordinate), or not
# an input-embedding size (a count, a choice, a parameter-space radius).
PER_COORDINATE, EXAMPLE_L2 = "per-coordinate", "example-l2"
SIZES = (PER_COORDINATE, EXAMPLE_L2, None)
BOUNDS = {"positive": lambda v: v > 0, "non-negative": lambda v: v >= 0, None: lambda v: True}
BOUND_WORDS = {"positive": "must be positive", "non-negative": "must be >= 0"}


@dataclass(frozen=True)
class Knob:
    """One setting a regulariser reads: a `TrainSpec` field and a `ptp-train --NAME` option."""
    name: str
    type: type  # float | int | str
    default: float | int | str
    help: str
    size: str | None = None  # PER_COORDINATE | EXAMPLE_L2 | None: what `--radii relative` scales it by
    bound: str | None = None  # "positive" | "non-negative" | None
    choices: tuple[str, ...] = ()
    # Only for a knob that run files written before it had its own name store under another
    # field (FreeLB's max norm as `eps`): its value is stored there while its regulariser is on,
    # so every earlier run folder, cache name and config stays valid. A new knob leaves it empty.
    stored_as: str = ""

    def __post_init__(self):
        if self.size not in SIZES or self.bound not in BOUNDS or not isinstance(self.default, self.type):
            raise ValueError(f"knob {self.name}: size {self.size!r}, bound {self.bound!r}, default {self.default!r}")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def refusal(self, value) -> str | None:
        """Why `value` is refused, in one line, or None."""
        if self.choices and value not in self.choices:
            return f"{self.flag} {value}: choose one of {', '.join(self.choices)}"
        if not BOUNDS[self.bound](value):
            return f"{self.flag} {value}: {BOUND_WORDS[self.bound]}"
        return None


# Knobs that several adversarial regularisers share, each with one meaning everywhere.
STEP_SIZE = Knob("step_size", float, 0.02, "ascent step", size=EXAMPLE_L2, bound="positive")
STEPS = Knob("steps", int, 1, "ascent steps (K)", bound="positive")
NORM = Knob("norm", str, "l2", "l2 | linf", choices=("l2", "linf"))


@dataclass(frozen=True)
class Regulariser:
    name: str
    config: str  # the name of its config class (training.regularisers.SAM, ...): the Python API's
    term: Callable  # (step) -> (clean scores, perturbed term, every ascent step finite)
    knobs: tuple[Knob, ...]  # the settings it reads, each with one meaning
    paper: str  # what it follows, and where it departs
    preset: tuple[str, dict] | None = None  # (name, TrainSpec settings) for ptp-pipeline
    check: Callable | None = None  # (spec) -> None, raising PTPError on a bad combination
    # False: the term is the whole training loss, the clean cross-entropy is not added (SAM's
    # loss at perturbed weights); lambda 0 still turns the regulariser off.
    adds_clean_loss: bool = True
    # False: the term reads no --consistency (SAM's is the task loss at perturbed weights), so the
    # spec does not need one.
    reads_consistency: bool = True


def knob_table(records) -> dict[str, Knob]:
    """Every knob of the records by name; a name two records declare must be the same knob."""
    table: dict[str, Knob] = {}
    for record in records:
        for knob in record.knobs:
            if table.setdefault(knob.name, knob) != knob:
                raise ValueError(f"regulariser {record.name}: knob '{knob.name}' differs from another record's")
    return table


REGULARISERS: dict[str, Regulariser] = collect(__name__, __path__, "REGULARISER")
KNOBS: dict[str, Knob] = knob_table(REGULARISERS.values())
CONSISTENCY = ("ce", "kl")


class RegulariserConfig:
    """One regulariser with its knobs, for the Python API (as PEFT keeps one config per method):
    `SAM(rho=0.05)`, `FreeLB(step_size=0.1, steps=2)`, `GaussianNoise(sigma=0.02, weight=1.0)`.
    Its fields are its record's knobs (declared once, in its file), plus `weight` (lambda: the
    perturbed term's weight) and, for a regulariser that reads one, `consistency` (ce | kl).
    Sizes are absolute (input-embedding units); `ptp-train --radii relative` is the CLI's option.
    A knob it does not read, or a value out of its bounds, is refused in one line."""

    record: Regulariser

    def __init__(self, weight: float = 1.0, consistency: str | None = None, **knobs):
        from augment.common.errors import PTPError

        name, own = type(self).__name__, self.record.knobs
        listing = ", ".join(f"{k.name} ({k.help}; default {k.default})" for k in own) or "none"
        unknown = sorted(set(knobs) - {k.name for k in own})
        if unknown:
            raise PTPError(f"{name}: unknown knob {', '.join(unknown)}; {name}'s knobs: {listing}")
        values = {k.name: knobs.get(k.name, k.default) for k in own}
        for knob in own:
            value = values[knob.name]
            if isinstance(value, int) and knob.type is float and not isinstance(value, bool):
                values[knob.name] = value = float(value)
            refusal = None if isinstance(value, knob.type) else f"expected a {knob.type.__name__}"
            refusal = refusal or knob.refusal(value)
            if refusal:
                raise PTPError(f"{name}({knob.name}={value!r}): {refusal.split(': ', 1)[-1]}; {name}'s knobs: {listing}")
        if not weight >= 0:
            raise PTPError(f"{name}(weight={weight!r}): must be >= 0 (the perturbed term's weight, lambda)")
        if consistency is not None and not self.record.reads_consistency:
            raise PTPError(f"{name}(consistency={consistency!r}): {name} reads no consistency term")
        consistency = consistency or "ce"
        if consistency not in CONSISTENCY:
            raise PTPError(f"{name}(consistency={consistency!r}): choose one of {', '.join(CONSISTENCY)}")
        self.weight, self.consistency, self.knobs = float(weight), consistency, values

    def __getattr__(self, item):
        knobs = self.__dict__.get("knobs", {})
        if item in knobs:
            return knobs[item]
        raise AttributeError(item)

    def settings(self) -> dict:
        """The ptp-train settings it stands for (`TrainSpec` fields): --embed-noise, its knobs,
        --lambda and --consistency."""
        return {"embed_noise": self.record.name, **self.knobs, "lam": self.weight, "consistency": self.consistency}

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.settings() == self.settings()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in {**self.knobs, 'weight': self.weight}.items())})"


def config_class(record: Regulariser) -> type:
    return type(record.config, (RegulariserConfig,), {"record": record, "__module__": __name__,
                                                       "__doc__": f"{record.config}: {record.paper}."})


CONFIGS: dict[str, type] = {name: config_class(r) for name, r in REGULARISERS.items() if r.name != "none"}
globals().update({cls.__name__: cls for cls in CONFIGS.values()})  # training.regularisers.SAM, ...


def readers(knob: str) -> list[str]:
    """The regularisers that read `knob`."""
    return [name for name, record in REGULARISERS.items() if any(k.name == knob for k in record.knobs)]


def markdown() -> str:
    """The table of regularisers, their config classes and knobs that docs/training.md carries (a
    test keeps it equal to this): `ptp-pipeline figures` rewrites it."""
    lines = ["| `--embed-noise` | Python config | preset | knobs (default; size kind for `--radii relative`) | follows |",
             "|---|---|---|---|---|"]
    for name, record in REGULARISERS.items():
        knobs = ", ".join(f"`{k.flag}` {k.default} ({k.size or 'not a size'})" for k in record.knobs) or "none"
        python = f"`{record.config}`" if name != "none" else "—"
        lines.append(f"| `{name}` | {python} | {f'`{record.preset[0]}`' if record.preset else ''} | {knobs} | "
                     f"{record.paper} |")
    return "\n".join(lines)
