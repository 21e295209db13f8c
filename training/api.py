"""PTP as a library: its regularisers and text partners in your own training loop, or in Hugging
Face's Trainer, with the loss ptp-train computes (training/objective.py), not a copy of it.

    from training.api import PTP, PTPTrainer
    from training.regularisers import FreeLB, SAM, GaussianNoise

    ptp = PTP(FreeLB(step_size=0.1, steps=2))          # a plain loop:
    loss = ptp.loss(model, batch, step).total           #   loss.backward(); optimizer.step() ...
    trainer = PTPTrainer(model=model, args=args, train_dataset=train, regulariser=SAM(rho=0.05))

`model` is any sequence classifier whose forward takes `inputs_embeds` (a transformers model with
or without a PEFT prompt, or ptp-train's own, `prompt_model`). `batch` is a Hugging Face batch
(`input_ids`, `attention_mask`, optional `token_type_ids`, `labels`; text partners as
`perturbed_input_ids`, `perturbed_attention_mask` [, `perturbed_token_type_ids`], padded by
`PartnerCollator`), or ptp-train's own collated batch (`encoded_task`'s items through its
collator). Random draws are keyed by (seed, step, row), as in ptp-train: pass the optimiser step
(1, 2, ...) and, in a batch split over processes, the global index of this process's first row.
docs/python.md has the whole scripts and the settings that make a Trainer run equal ptp-train's.
"""
from __future__ import annotations

from types import SimpleNamespace

import torch

from augment.common.errors import PTPError

from .losses import gold_cross_entropy
from .model import input_embeddings
from .objective import Loss, forward_scores, pools_itself, training_loss
from .perturb import RowNoise
from .regularisers import KNOBS, RegulariserConfig

PARTNER = "perturbed_"


def settings_of(regulariser: RegulariserConfig | None, partner_weight: float, consistency: str) -> SimpleNamespace:
    """What training_loss reads of a spec: every knob (defaults), the regulariser's settings, or,
    with text partners alone, their weight (lambda) and consistency."""
    if regulariser is not None and not isinstance(regulariser, RegulariserConfig):
        raise PTPError(f"regulariser {regulariser!r}: pass a config such as training.regularisers.SAM(rho=0.05)")
    values = {k.name: k.default for k in KNOBS.values()}
    values.update(regulariser.settings() if regulariser else
                  {"embed_noise": "none", "lam": float(partner_weight), "consistency": consistency})
    return SimpleNamespace(**values)


def as_ptp_batch(batch: dict) -> dict:
    """A Hugging Face batch in ptp-train's layout ({clean, perturbed?, gold}: one candidate a row);
    ptp-train's own batches pass through."""
    if "clean" in batch:
        return batch
    if "labels" not in batch:
        raise PTPError(f"a PTP batch needs 'labels' (its keys: {', '.join(batch)}); or pass ptp-train's collated batch")

    def view(prefix: str) -> dict:
        ids = batch[prefix + "input_ids"]
        out = {"input_ids": ids[:, None], "attention_mask": batch.get(prefix + "attention_mask", torch.ones_like(ids))[:, None],
               "valid": torch.ones(ids.shape[0], 1, dtype=torch.bool, device=ids.device)}
        if batch.get(prefix + "token_type_ids") is not None:
            out["token_type_ids"] = batch[prefix + "token_type_ids"][:, None]
        return out

    labels = batch["labels"]
    out = {"clean": view("")}
    if PARTNER + "input_ids" in batch:
        out["perturbed"] = view(PARTNER)
    return {**out, "labels": labels}


def outputs_of(model) -> int:
    """The classifier's number of outputs (labels)."""
    seen = set()
    while model is not None and id(model) not in seen:
        if hasattr(model, "num_labels") and not hasattr(model, "peft_config"):
            return model.num_labels
        seen.add(id(model))
        model = getattr(model, "module", None) or getattr(model, "base_model", None)
    raise PTPError("cannot tell the model's number of labels: give it a config.num_labels")


def embedding_layer(model):
    """The model's input embeddings (ptp-train's PooledClassifier keeps them in its encoder)."""
    return input_embeddings(model) if pools_itself(model) and hasattr(model, "base_model") else \
        model.get_input_embeddings()


class PTP:
    """PTP's training loss for one batch: the task's cross-entropy on the clean batch plus
    `weight` x the regulariser's perturbed term (its config's), on the text partners when the
    batch has them (`partner_weight` and `consistency` weigh them when no regulariser is given).
    Neither a regulariser nor partners: vanilla prompt tuning's cross-entropy."""

    def __init__(self, regulariser: RegulariserConfig | None = None, partner_weight: float = 1.0,
                 consistency: str = "ce", seed: int = 0):
        self.spec = settings_of(regulariser, partner_weight, consistency)
        self.seed, self.noise = seed, None

    def loss(self, model, batch: dict, step: int, first_row: int = 0) -> Loss:
        """(total, clean, perturbed term or None, finite) for `batch` at optimiser step `step`;
        call `.total.backward()`. A step that is not finite (`finite` False) is best skipped."""
        batch = as_ptp_batch(batch)
        if "gold" not in batch:
            batch = {**batch, "gold": torch.nn.functional.one_hot(batch["labels"], outputs_of(model)).bool()}
        device = batch["clean"]["input_ids"].device
        if self.noise is None or self.noise.device != device:
            self.noise = RowNoise(self.seed, device)
        self.noise.at(step, batch.get("perturbed", batch["clean"])["valid"], first_row)
        return training_loss(model, embedding_layer(model), batch, self.spec, self.noise)

    @staticmethod
    def clean_loss(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(cross-entropy, scores) of the clean batch alone, for evaluation."""
        batch = as_ptp_batch(batch)
        scores = forward_scores(model, batch["clean"])
        gold = batch.get("gold")
        if gold is None:
            gold = torch.nn.functional.one_hot(batch["labels"], scores.shape[-1]).bool()
        return gold_cross_entropy(scores, gold), scores


def _trainer_class():
    from transformers import Trainer

    class PTPTrainer(Trainer):
        """transformers.Trainer whose training loss is PTP's (`PTP.loss`), for a regulariser
        config and/or a dataset of text partners. Its per-step losses (total, clean, perturbed
        term) are kept in `ptp_history`. Evaluation scores the clean batch alone.

        Its data order is ptp-train's (`get_train_dataloader`). Trainer's other defaults that
        differ from ptp-train's (its fused AdamW) are what docs/python.md lists; steps that are
        not finite are not skipped."""

        def __init__(self, *args, regulariser: RegulariserConfig | None = None, partner_weight: float = 1.0,
                     consistency: str = "ce", **kwargs):
            training_args = kwargs.get("args", args[1] if len(args) > 1 else None)
            if training_args is not None:  # keep the loader's own seeded generator (get_train_dataloader)
                training_args.accelerator_config.use_seedable_sampler = False
            super().__init__(*args, **kwargs)
            self.ptp = PTP(regulariser, partner_weight, consistency, seed=self.args.seed)
            self.ptp_history: list[dict] = []
            self.model_accepts_loss_kwargs = False  # the loss is a mean over the batch's rows

        def get_train_dataloader(self):
            """ptp-train's loader: shuffled by a generator seeded with args.seed, which also
            draws the loader's base seed (Trainer's own sampler draws from the global generator,
            or accelerate's seedable sampler: other orders). Every column reaches the collator:
            text partners are columns the model's forward does not name."""
            generator = torch.Generator().manual_seed(self.args.seed)
            loader = torch.utils.data.DataLoader(self.train_dataset, batch_size=self._train_batch_size, shuffle=True,
                                                 generator=generator, collate_fn=self.data_collator,
                                                 drop_last=self.args.dataloader_drop_last)
            return self.accelerator.prepare(loader)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not model.training:  # evaluation: the clean cross-entropy and scores
                loss, scores = PTP.clean_loss(model, inputs)
                return (loss, {"logits": scores}) if return_outputs else loss
            rows = as_ptp_batch(inputs)["clean"]["input_ids"].shape[0]
            loss = self.ptp.loss(model, inputs, self.state.global_step + 1, first_row=self.args.process_index * rows)
            self.ptp_history.append({"step": self.state.global_step + 1, "loss": float(loss.total.detach()),
                                     "clean": float(loss.clean.detach()),
                                     "perturbed": None if loss.perturbed is None else float(loss.perturbed.detach()),
                                     "finite": loss.finite})
            return (loss.total, {}) if return_outputs else loss.total

    return PTPTrainer


def __getattr__(name):  # PTPTrainer imports transformers' Trainer on first use only
    if name == "PTPTrainer":
        cls = _trainer_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


class PartnerCollator:
    """Pads a Hugging Face batch and its text partners (`perturbed_input_ids`, ...) to one
    length, so the clean and perturbed views can share one forward pass (as ptp-train's do)."""

    def __init__(self, tokenizer):
        self.pad = tokenizer.pad_token_id

    def __call__(self, features: list[dict]) -> dict:
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features[0]]
        views = [""] + ([PARTNER] if PARTNER + "input_ids" in features[0] else [])
        length = max(len(f[v + "input_ids"]) for f in features for v in views)
        out = {"labels": torch.tensor([f["labels"] for f in features])}
        for v in views:
            for k in keys:
                if v + k not in features[0]:
                    continue
                fill = self.pad if k == "input_ids" else 0
                out[v + k] = torch.tensor([list(f[v + k]) + [fill] * (length - len(f[v + k])) for f in features])
        return out


def prompt_model(spec):
    """ptp-train's model for a TrainSpec (its encoder loaded, its prompt mechanism on it, heads
    calibrated as ptp-train calibrates them), with its tokenizer: (model, tokenizer). Call after
    seeding (accelerate.utils.set_seed(spec.seed)) to get ptp-train's initial weights."""
    from .data import head_size
    from .model import build_peft_model, load_encoder
    from augment.common.tasks import get_task

    task = get_task(spec.task)
    encoder, tokenizer = load_encoder(spec.model, spec.dropout, spec.trust_remote_code, spec.pooling == "cls")
    model = build_peft_model(encoder, head_size(task), spec.pooling, len(task.pooled_spans), spec.method,
                             spec.prefix_len, spec.prefix_projection)
    if spec.pooling == "span":
        raise PTPError("prompt_model: the span head is calibrated on training rows; use ptp-train for --pooling span")
    return model, tokenizer


def encoded_task(spec, tokenizer, data=None, log=print):
    """ptp-train's training items for a TrainSpec (its rows: the whole split, --max-train or the
    few-shot draw; with their text partners when `data` is a corpus, opened by
    training.protocol.open_data(pairs=...)) and ptp-train's collator: (items, collate)."""
    from augment.common.tasks import get_task

    from .data import Collator, encode_rows, head_size
    from .protocol import load_training_data, open_data

    task = get_task(spec.task)
    data = data or open_data(spec.task, log=log)
    train_rows = load_training_data(spec, data, log=log)[0]
    pairs = data.identity.get("pairs") is not None and spec.lam > 0 and spec.consistency != "none"
    return encode_rows(tokenizer, task, train_rows, spec.max_length, perturbed=pairs), \
        Collator(tokenizer.pad_token_id, head_size(task))
