"""The step maths: one batch's loss (task cross-entropy on the clean batch + lambda * the chosen
regulariser's perturbed term), its backward in chunks, and forward scoring.

The clean and perturbed halves go through one forward pass of the concatenated batch. What the
perturbed term is belongs to the regulariser (training/regularisers/); this module hands it the
batch as a `Batch` and adds its term.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch

from .config import TrainSpec
from .data import flatten, scores
from .losses import consistency_loss, gold_cross_entropy
from .metrics import task_metrics
from .model import is_head_parameter
from .perturb import RowNoise
from .regularisers import REGULARISERS


def encoder_inputs(view: dict, model=None) -> dict:
    """The forward's keyword inputs besides ids or embeddings: this project's model takes span
    masks and the text mask; any other (a Hugging Face model, with or without PEFT: the Python
    API's) only the attention mask and token type ids."""
    if model is not None and not pools_itself(model):
        return {k: view[k] for k in ("attention_mask", "token_type_ids") if view.get(k) is not None}
    return {"attention_mask": view["attention_mask"], "token_type_ids": view.get("token_type_ids"),
            "span_masks": view.get("span_masks"), "text_mask": view["attention_mask"]}


def pools_itself(model) -> bool:
    """Whether `model` is (or wraps, through PEFT or accelerate) this project's PooledClassifier."""
    from .model import PooledClassifier

    seen = set()
    while model is not None and id(model) not in seen:
        if isinstance(model, PooledClassifier):
            return True
        seen.add(id(model))
        model = getattr(model, "module", None) or getattr(model, "base_model", None)
    return False


def cat_inputs(a: dict, b: dict) -> dict:
    return {k: torch.cat([a[k], b[k]]) if a.get(k) is not None else None for k in a}


def uses_perturbation(spec: TrainSpec, batch: dict) -> bool:
    reads = REGULARISERS[spec.embed_noise].reads_consistency
    return spec.lam > 0 and (spec.consistency != "none" or not reads) and ("perturbed" in batch or spec.embed_noise != "none")


def flat_scores(model, flat: dict, valid, embeds=None, parameters: dict | None = None) -> torch.Tensor:
    """[rows, outputs] scores of flattened candidates, from their ids or from given embeddings;
    with `parameters` ({name: tensor}), scored with those tensors in place of the model's own
    (torch.func's functional_call: nothing changed in place, gradients reach the parameters a
    tensor was made from)."""
    source = {"input_ids": flat["input_ids"]} if embeds is None else {"inputs_embeds": embeds}
    kwargs = {**source, **encoder_inputs(flat, model)}
    if parameters is None:
        return scores(model(**kwargs).logits, valid)
    return scores(torch.func.functional_call(model, parameters, args=(), kwargs=kwargs).logits, valid)


def forward_scores(model, view: dict) -> torch.Tensor:
    """[rows, outputs] scores of a collated view (label logits, or one score per candidate)."""
    return flat_scores(model, flatten(view), view["valid"])


class Loss(NamedTuple):
    total: torch.Tensor
    clean: torch.Tensor
    perturbed: torch.Tensor | None  # the unweighted perturbed term; None without one
    finite: bool  # every ascent step of an adversarial term stayed finite


class Batch:
    """What a regulariser sees of one batch (training/regularisers/__init__.py lists it)."""

    def __init__(self, model, embed, batch: dict, spec: TrainSpec, generator):
        self.model, self.spec, self.generator = model, spec, generator
        self.clean, self.gold = batch["clean"], batch["gold"]
        self.view = batch.get("perturbed", self.clean)
        self.flat_clean, self.flat_view = flatten(self.clean), flatten(self.view)
        self.embed = embed
        self.embeds, self.mask = embed(self.flat_view["input_ids"]), self.flat_view["attention_mask"]
        # The clean cross-entropy, formed right after the joint forward pass (`both`), before the
        # regulariser builds its term: the graph's order is the order autograd sums gradients in,
        # and this order keeps runs bit-identical to those trained before regularisers were records.
        self.clean_ce = None

    def view_scores(self, embeds) -> torch.Tensor:
        return flat_scores(self.model, self.flat_view, self.view["valid"], embeds)

    def clean_scores(self, parameters: dict | None = None) -> torch.Tensor:
        """The clean batch's scores (with gradients); with `parameters` ({name: tensor}, names as
        `trained`'s), scored with those tensors in place of the model's own (flat_scores)."""
        return flat_scores(self.model, self.flat_clean, self.clean["valid"], parameters=parameters)

    def trained(self, prompt_only: bool = False) -> dict[str, torch.Tensor]:
        """The trained parameters by name (the prompt's and the head's); with `prompt_only`, the
        prompt's own (every trained parameter outside the head)."""
        return {n: p for n, p in self.model.named_parameters()
                if p.requires_grad and not (prompt_only and is_head_parameter(n))}

    def task_loss(self, scores_) -> torch.Tensor:
        """The task's cross-entropy of scores against the batch's gold outputs."""
        return gold_cross_entropy(scores_, self.gold)

    def clean_target(self) -> torch.Tensor:
        with torch.no_grad():
            return forward_scores(self.model, self.clean)

    def both(self, perturbed_embeds) -> tuple[torch.Tensor, torch.Tensor]:
        """(clean scores, perturbed scores) from one forward pass of the concatenated batch."""
        both = torch.cat([self.embed(self.flat_clean["input_ids"]), perturbed_embeds])
        logits = self.model(inputs_embeds=both, **cat_inputs(encoder_inputs(self.flat_clean, self.model),
                                                             encoder_inputs(self.flat_view, self.model))).logits
        clean_logits, perturbed_logits = logits.split(self.flat_clean["input_ids"].shape[0])
        clean_scores = scores(clean_logits, self.clean["valid"])
        self.clean_ce = gold_cross_entropy(clean_scores, self.gold)
        return clean_scores, scores(perturbed_logits, self.view["valid"])

    def consistency(self, clean_scores, perturbed_scores) -> torch.Tensor:
        return consistency_loss(self.spec.consistency, clean_scores, perturbed_scores, self.gold)


def training_loss(model, embed, batch: dict, spec: TrainSpec, generator) -> Loss:
    """CE(clean) + lambda * the regulariser's perturbed term, for one batch (or the term alone,
    for a regulariser that does not add the clean loss)."""
    if not uses_perturbation(spec, batch):
        ce = gold_cross_entropy(forward_scores(model, batch["clean"]), batch["gold"])
        return Loss(ce, ce, None, True)
    step = Batch(model, embed, batch, spec, generator)
    record = REGULARISERS[spec.embed_noise]
    clean_scores, term, finite = record.term(step)
    ce = step.clean_ce if step.clean_ce is not None else gold_cross_entropy(clean_scores, batch["gold"])
    # A regulariser whose term is the whole objective (SAM's loss at the perturbed weights) is not added to the clean one.
    return Loss(ce + spec.lam * term if record.adds_clean_loss else term, ce, term, finite)


def rows_of(batch: dict, start: int, end: int) -> dict:
    """Rows [start, end) of a collated batch (every tensor is row-major)."""
    return {k: rows_of(v, start, end) if isinstance(v, dict) else v[start:end] for k, v in batch.items()}


def backward_in_chunks(model, embed, batch: dict, spec: TrainSpec, noise: RowNoise, step: int, accelerator) -> Loss:
    """Forward and backward of this process's share of one global batch, in `spec.grad_accum`
    chunks of rows, each loss weighted by its share of the rows: the gradient of the whole batch
    whatever the chunking, with less memory. By hand rather than `accelerator.accumulate`, which
    treats each loader batch as a micro-batch; here --batch-size stays the optimiser's batch."""
    rows = batch["gold"].shape[0]
    bounds = [(int(c[0]), int(c[-1]) + 1) for c in torch.arange(rows).tensor_split(min(spec.grad_accum, rows))]
    parts = []
    for i, (start, end) in enumerate(bounds):
        chunk = rows_of(batch, start, end)
        valid = chunk.get("perturbed", chunk["clean"])["valid"]
        noise.at(step, valid, accelerator.process_index * rows + start)  # the rows' own draws
        # Gradients are synchronised across processes once, on the last chunk.
        with accelerator.no_sync(model) if i < len(bounds) - 1 else contextlib.nullcontext():
            loss = training_loss(model, embed, chunk, spec, noise)
            accelerator.backward(loss.total * ((end - start) / rows))
        parts.append((loss, (end - start) / rows))

    def weighted(name):
        terms = [(getattr(p, name), w) for p, w in parts]
        return None if terms[0][0] is None else sum(t.detach().float() * w for t, w in terms)

    return Loss(weighted("total"), weighted("clean"), weighted("perturbed"), all(p.finite for p, _ in parts))


@torch.no_grad()
def predict(model, loader, accelerator) -> list[int]:
    """One prediction per row, in loader order: a label id, or a candidate index."""
    model.eval()
    preds = []
    for batch in loader:
        p = accelerator.gather_for_metrics(forward_scores(model, batch["clean"]).argmax(-1))
        preds += p.tolist()
    return preds


def evaluate(model, loader, task, rows, items, accelerator, shares: dict | None = None) -> dict[str, float]:
    """The task's metrics; with `shares`, also the largest fraction of rows predicted as one output
    (`shares["one_class"]`): 1.0 is a run collapsed to one class."""
    preds = predict(model, loader, accelerator)
    if shares is not None and preds:
        from collections import Counter

        shares["one_class"] = round(max(Counter(preds).values()) / len(preds), 4)
    return task_metrics(task, rows, preds, [it["names"] for it in items])

