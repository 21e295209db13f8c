"""The training spec: every knob of one ptp-train run, validated when it is built."""
from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass, replace
from typing import TYPE_CHECKING

from augment.common.errors import PTPError
from augment.common.tasks import get_task

from .losses import CONSISTENCY
from .model import DEFAULT_MODEL, METHODS, POOLINGS
from .regularisers import KNOBS, PER_COORDINATE, REGULARISERS, readers

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")

if TYPE_CHECKING:
    import torch


def default_pooling(task_name: str) -> str:
    """Span pooling where the task marks spans (WiC, WSC); else mean pooling, which is how the
    packaged MiniLM sentence encoder was trained (its [CLS] vector was never trained alone)."""
    return "span" if get_task(task_name).pooled_spans else "mean"


RADII = ("absolute", "relative")
# Run identity, one rule: a spec is stored (run configs, run folder names, caches) as the fields
# of the first stored layout below, plus every other field whose value differs from its default
# (so a setting or knob added later changes no earlier run's identity while unset), with a knob
# that runs once stored under another field (`Knob.stored_as`) stored there. Every run folder and
# cache written since the first layout keeps its identity (tests/fixtures/run-configs-2026-12-03).
FIRST_LAYOUT = ("task", "model", "method", "prefix_len", "prefix_projection", "pooling", "lr", "batch_size",
                "epochs", "max_length", "weight_decay", "warmup", "consistency", "lam", "embed_noise", "sigma",
                "eps", "step_size", "steps", "norm", "init_mag", "max_grad_norm", "seed", "device", "dropout",
                "max_train", "train_size", "sample_seed", "holdout", "holdout_seed", "trust_remote_code")


def knob_help(name: str) -> str:
    """A knob's --help line, naming the regularisers that read it: 'pgd/freelb/smart: ascent step'."""
    return f"{'/'.join(readers(name))}: {KNOBS[name].help}"


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a run but the regularisers' knobs, which `TrainSpec` adds from their records."""
    task: str
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "HF name or local folder; 'minilm' (22M) and 'mpnet' (110M) are packaged"})
    method: str = field(default="prefix", metadata={
        "help": "prefix (P-tuning v2: P keys and values in every layer's attention; PEFT's, or training/kv_prefix.py "
                "where the encoder takes no past_key_values) | deep (VPT-deep: prompts replaced at every layer's "
                "input, any encoder) | prompt (prompt tuning) | ptuning (P-tuning v1: a prompt encoder)"})
    prefix_len: int = field(default=20, metadata={"help": "virtual tokens"})
    prefix_projection: bool = field(default=False, metadata={"help": "MLP reparameterisation of the prefix"})
    pooling: str = field(default="", metadata={
        "help": "cls (P-tuning v2's head: [CLS] -> the checkpoint's pooler -> dropout -> linear) | mean | span "
                "[default: span for wic/wsc, else mean]"})
    lr: float = 1e-2
    batch_size: int = field(default=32, metadata={"help": "global batch size"})
    epochs: int = 3
    # Long runs (P-tuning v2 trains 60-120 epochs) score validation every k epochs and at the last;
    # only those epochs can be selected.
    eval_every: int = field(default=1, metadata={"help": "score validation every N epochs (and at the last)"})
    max_length: int = 128
    weight_decay: float = 0.0
    warmup: float = field(default=0.0, metadata={"help": "fraction of steps"})
    consistency: str = field(default="ce", metadata={"help": "ce | kl | none"})
    lam: float = field(default=1.0, metadata={"flag": "lambda", "help": "weight of the perturbed term"})
    embed_noise: str = field(default="none", metadata={
        "help": " | ".join(REGULARISERS) + " (each regulariser's knobs follow, named by it)"})
    # Relative radii carry a setting across encoder widths (384, 768, 1024): see `absolute_radii`.
    radii: str = field(default="absolute", metadata={
        "help": "absolute | relative: the regulariser's input-embedding sizes (" +
                ", ".join(k.name for k in KNOBS.values() if k.size) + ") as fractions of the encoder's "
                "token-embedding scale (the absolute values used go in metrics.json)"})
    # Gradient clipping, as P-tuning v2 (HF Trainer's max_grad_norm 1.0) does; 0 turns it off.
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping (0: off)"})
    # Split each batch into N chunks, one forward/backward each, for models whose batch does not
    # fit in memory; the gradient (so the run) is the same as with N = 1 up to rounding.
    grad_accum: int = field(default=1, metadata={"help": "chunks per batch (gradient accumulation)"})
    seed: int = 1
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda"})
    # bf16 autocast (accelerate's mixed precision; pooling and head stay fp32). On a CPU with bf16
    # units (AVX512-BF16, AMX) it is also about 2x faster: MPNet-base scores 981 sentiment rows in
    # 57 s against 124 s in fp32 on one core of this project's EPYC machine.
    precision: str = field(default="auto", metadata={
        "help": "auto (bf16 on a GPU that has it, else fp32) | fp32 | bf16 (also on CPUs with bf16 units)"})
    # Encoder dropout. 0 by default, a departure from P-tuning v2 (which keeps BERT's 0.1): with a
    # frozen encoder, dropout noise swamps the similarity a span head reads (WordNet-WiC, MiniLM:
    # 55% with 0.1 vs 68% with 0 after one epoch on 2,048 rows). None keeps the model's own.
    dropout: float | None = field(default=0.0, metadata={"help": "encoder dropout (0: off; P-tuning v2 kept the model's 0.1)"})
    max_train: int | None = field(default=None, metadata={"help": "use the first N train rows"})
    # Few-shot protocol (FewGLUE): draw `train_size` train rows, stratified by label, with
    # `sample_seed` (fixed across training seeds, as FewGLUE's one 32-example set is).
    train_size: int | None = field(default=None, metadata={
        "help": "few-shot: train on N rows drawn stratified by label (FewGLUE uses 32)"})
    sample_seed: int = field(default=0, metadata={"help": "seed of the --train-size draw"})
    # Claim protocol: hold out a label-stratified fraction of train as the validation split (it
    # selects epochs and settings) and report on the official validation split, for data whose
    # test labels are hidden (official SuperGLUE/FewGLUE files).
    holdout: float | None = field(default=None, metadata={
        "help": "select on this label-stratified fraction of train, report on the data's validation split "
                "(for official files, whose test labels are hidden)"})
    holdout_seed: int = field(default=0, metadata={"help": "seed of the --holdout draw"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow the model's own code (off by default)"})
    # A task file's record (its canonical JSON), filled in from the registry: a saved config then
    # rebuilds the task in any later process (evaluate, victims, landscape, torchrun workers).
    task_definition: str = ""

    def __post_init__(self):
        if self.task_definition:
            from augment.common.tasks import register_definition

            register_definition(self.task_definition, origin=f"the run config of task {self.task}")
        task = get_task(self.task)
        object.__setattr__(self, "task", task.name)
        object.__setattr__(self, "task_definition", task.definition)
        if not self.pooling:
            object.__setattr__(self, "pooling", default_pooling(task.name))
        choices = {"method": METHODS, "pooling": POOLINGS, "consistency": CONSISTENCY,
                   "embed_noise": tuple(REGULARISERS), "device": DEVICES, "radii": RADII, "precision": PRECISIONS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise PTPError(f"--{name.replace('_', '-')} {getattr(self, name)}: choose one of {', '.join(allowed)}")
        positive = {"prefix_len": self.prefix_len, "lr": self.lr, "batch_size": self.batch_size,
                    "epochs": self.epochs, "max_length": self.max_length, "grad_accum": self.grad_accum,
                    "eval_every": self.eval_every}
        for name, value in positive.items():
            if not value > 0:
                raise PTPError(f"--{name.replace('_', '-')} {value}: must be positive")
        if self.max_grad_norm < 0:
            raise PTPError(f"--max-grad-norm {self.max_grad_norm}: must be >= 0")
        for knob in KNOBS.values():
            refusal = knob.refusal(getattr(self, knob.name))
            if refusal:
                raise PTPError(refusal)
        regulariser = REGULARISERS[self.embed_noise]
        for knob in regulariser.knobs:  # a knob that once shared another's name
            if knob.stored_as and getattr(self, knob.stored_as) != KNOBS[knob.stored_as].default:
                flag, own = knob.stored_as.replace("_", "-"), knob.name.replace("_", "-")
                raise PTPError(f"--{flag} is not a {self.embed_noise} knob ({knob_help(knob.stored_as)}); "
                               f"{self.embed_noise}'s is --{own}")
        if regulariser.check is not None:
            regulariser.check(self)
        if self.holdout is not None and not 0 < self.holdout < 1:
            raise PTPError(f"--holdout {self.holdout}: must be a fraction in (0, 1), e.g. 0.2")
        if self.lam < 0:
            raise PTPError(f"--lambda {self.lam}: must be >= 0")
        if self.train_size is not None and self.train_size < 1:
            raise PTPError(f"--train-size {self.train_size}: must be at least 1")
        if self.max_train is not None and self.max_train < 1:
            raise PTPError(f"--max-train {self.max_train}: must be at least 1")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise PTPError(f"--dropout {self.dropout}: must be in [0, 1)")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise PTPError("--device cuda: no CUDA device is available here; use --device auto or cpu")
        if self.embed_noise != "none" and self.consistency == "none" and REGULARISERS[self.embed_noise].reads_consistency:
            raise PTPError("--embed-noise needs a consistency term: pass --consistency ce or kl")

    def absolute_radii(self, embedding: torch.Tensor) -> tuple["TrainSpec", dict]:
        """With --radii relative: the spec with its regulariser's sizes made absolute, and the
        record of it. The unit is the encoder's token embeddings (`embedding`, [vocab, width]):
        their mean l2 norm for l2 radii (an example-level ball or step), their per-coordinate RMS
        (mean norm / sqrt(width)) for per-coordinate sizes (Gaussian sigma, SMART's start, every
        linf radius); so a relative setting keeps its noise-to-embedding ratio at any width. Which
        knob is which kind of size is its record's `Knob.size`."""
        if self.radii == "absolute":
            return self, {}
        norms = embedding.detach().float().norm(dim=1)
        mean_norm = round(norms.mean().item(), 6)
        rms = round(mean_norm / embedding.shape[1] ** 0.5, 6)
        scale = {k.name: rms if k.size == PER_COORDINATE or self.norm == "linf" else mean_norm
                 for k in REGULARISERS[self.embed_noise].knobs if k.size}
        absolute = {k: getattr(self, k) * unit for k, unit in scale.items()}
        record = {"unit": {"mean_token_norm": mean_norm, "per_coordinate_rms": rms},
                  "relative": {k: getattr(self, k) for k in scale}, "absolute": absolute}
        # object.__setattr__ on a copy: a knob stored under another's field (FreeLB's adv_max_norm
        # in eps) must not be re-checked against that field's default here.
        spec = replace(self)
        for k, v in absolute.items():
            object.__setattr__(spec, k, v)
        object.__setattr__(spec, "radii", "absolute")
        return spec, record

    def to_dict(self) -> dict:
        """The stored layout (run configs, run folder names, caches): the one rule of FIRST_LAYOUT."""
        legacy = {k.stored_as: k.name for k in REGULARISERS[self.embed_noise].knobs if k.stored_as}
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in FIRST_LAYOUT:
                out[f.name] = getattr(self, legacy.get(f.name, f.name))
            elif value != f.default and not (f.name in KNOBS and KNOBS[f.name].stored_as):
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrainSpec":
        known = {f.name for f in fields(cls)}
        return cls(**upgrade({k: v for k, v in data.items() if k in known}))


def unshadowed(knobs: dict) -> dict:
    """The knobs, refused if one is named like a setting (a knob `lam` or `dropout` would replace
    that setting's field in TrainSpec and silently change every run's meaning)."""
    clash = sorted(set(knobs) & {f.name for f in fields(TrainSettings)})
    if clash:
        raise ValueError(f"regulariser knob(s) {', '.join(clash)} named like a TrainSettings field; rename the knob")
    return knobs


# Each regulariser's knobs are fields of the spec (and so `ptp-train` options), declared once, in
# the regulariser's own file: a new regulariser adds its knobs here by being there.
TrainSpec = make_dataclass(
    "TrainSpec", [(k.name, k.type, field(default=k.default, metadata={"help": knob_help(k.name)}))
                  for k in unshadowed(KNOBS).values()],
    bases=(TrainSettings,), frozen=True,
    namespace={"__module__": __name__, "__doc__": "Every knob of one ptp-train run, validated when it is built: "
                                                  "TrainSettings plus each regulariser's knobs."})


def upgrade(knobs: dict) -> dict:
    """Settings in the stored layout (a run config, a preset file, an options file) as TrainSpec
    fields: a regulariser's `stored_as` knob read back from its old field, which returns to its
    default. Settings already in the new layout pass through."""
    record = REGULARISERS.get(knobs.get("embed_noise", "none"))
    out = dict(knobs)
    for knob in (record.knobs if record else ()):
        if knob.stored_as and knob.name not in out and knob.stored_as in out:
            out[knob.name] = out.pop(knob.stored_as)
    return out


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise PTPError(f"--seeds {text!r}: expected a comma list of integers, e.g. 1,2,3") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise PTPError(f"--seeds {text!r}: expected distinct integers, e.g. 1,2,3")
    return seeds


def replay_values(config: dict) -> dict:
    """ptp-train options from a file: a plain mapping of options as is, or a run's saved
    seed-N/config.json ({"spec", "provenance"}) as the options that trained it."""
    if set(config) != {"spec", "provenance"}:
        return upgrade(config)
    spec, provenance = dict(config["spec"]), config["provenance"]
    if spec.get("task_definition"):  # a task file's task: rebuilt from the record
        from augment.common.tasks import register_definition

        register_definition(spec["task_definition"], origin=f"the run config of task {spec['task']}")
    values = {k: v for k, v in upgrade(spec).items() if k not in ("seed", "task_definition")}
    # The device a run was trained on is history, not a requirement (as for evaluate).
    values.update(seeds=str(spec["seed"]), device="auto")
    if provenance.get("pairs"):
        values["pairs"] = provenance["pairs"]
    else:
        source = provenance["source"]
        from pathlib import Path

        local_dir = source["name"] == "local" and Path(source["location"]).is_dir()
        values["source"] = source["name"]
        if local_dir:
            values["data_dir"] = source["location"]
    if provenance.get("evaluation"):
        values["eval_dir"] = provenance["evaluation"]["location"]
    return values
