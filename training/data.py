"""Turn task rows (and their perturbed partners) into encoder inputs through the task template.

The template renders each example into one or two segments (text_a, text_b); the character
positions of the task's pooled spans (WiC's target word in both sentences, WSC's two spans) are
tracked through the rendering and mapped to token masks with the fast tokenizer's offsets, so
`--pooling span` pools exactly the span's word pieces.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

import torch

from augment.errors import PTPError
from augment.spans import spec_ranges
from augment.tasks import Task, copa_connective

_FORMATTER = string.Formatter()


def derived_fields(task: Task, example: dict) -> dict:
    """Fields a template may use beyond the row's own (COPA's connective)."""
    if task.name == "copa":
        return {"connective": copa_connective(example["question"])}
    return {}


def render(task: Task, example: dict) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Segments of the template, and each pooled span as (segment, start, end) in them."""
    values = {**example, **derived_fields(task, example)}
    segments, field_at = [], {}
    for seg, template in enumerate(task.template):
        out = ""
        for literal, name, spec, conv in _FORMATTER.parse(template):
            out += literal
            if name is not None:
                field_at.setdefault(name, (seg, len(out)))
                out += format(values[name], spec or "")
        segments.append(out)
    spans = []
    for spec in task.pooled_spans:
        if spec.field not in field_at:
            raise ValueError(f"{task.name}: pooled field {spec.field} is not in the template")
        seg, offset = field_at[spec.field]
        start, end = spec_ranges(spec, example)[0]
        spans.append((seg, offset + start, offset + end))
    return segments, spans


@dataclass
class Encoded:
    input_ids: list[int]
    token_type_ids: list[int] | None
    span_masks: list[list[int]]


def encode(tokenizer, task: Task, example: dict, max_length: int) -> Encoded:
    segments, spans = render(task, example)
    enc = tokenizer(*segments, truncation="longest_first" if len(segments) > 1 else True,
                    max_length=max_length, return_offsets_mapping=True)
    seq_ids = enc.sequence_ids()
    masks = []
    for seg, start, end in spans:
        mask = [int(sid == seg and s < end and e > start and e > s)
                for sid, (s, e) in zip(seq_ids, enc["offset_mapping"])]
        if not any(mask):  # the span was truncated away: fall back to the first token
            mask[0] = 1
        masks.append(mask)
    return Encoded(enc["input_ids"], enc.get("token_type_ids"), masks)


def encode_rows(tokenizer, task: Task, rows, max_length: int, perturbed: bool = False) -> list[dict]:
    """Encode every row (its original, and its `perturbed` partner when asked)."""
    out = []
    for row in rows:
        item = {"label": row["label"], "clean": encode(tokenizer, task, row, max_length)}
        if perturbed:
            partner = {**row, **row["perturbed"]}
            item["perturbed"] = encode(tokenizer, task, partner, max_length)
        out.append(item)
    return out


def _pad(encs: list[Encoded], pad_id: int, length: int) -> dict:
    n = len(encs)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    attn = torch.zeros((n, length), dtype=torch.long)
    types = torch.zeros((n, length), dtype=torch.long)
    n_spans = len(encs[0].span_masks)
    spans = torch.zeros((n, n_spans, length), dtype=torch.float)
    for i, e in enumerate(encs):
        k = len(e.input_ids)
        ids[i, :k] = torch.tensor(e.input_ids)
        attn[i, :k] = 1
        if e.token_type_ids is not None:
            types[i, :k] = torch.tensor(e.token_type_ids)
        for j, m in enumerate(e.span_masks):
            spans[i, j, :k] = torch.tensor(m, dtype=torch.float)
    batch = {"input_ids": ids, "attention_mask": attn, "span_masks": spans}
    if encs[0].token_type_ids is not None:
        batch["token_type_ids"] = types
    return batch


class Collator:
    """Pads clean and perturbed inputs to one length, so they can share one forward pass."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[dict]) -> dict:
        encs = [it["clean"] for it in items] + [it["perturbed"] for it in items if "perturbed" in it]
        length = max(len(e.input_ids) for e in encs)
        batch = {"clean": _pad([it["clean"] for it in items], self.pad_id, length),
                 "labels": torch.tensor([it["label"] for it in items], dtype=torch.long)}
        if "perturbed" in items[0]:
            batch["perturbed"] = _pad([it["perturbed"] for it in items], self.pad_id, length)
        return batch


def check_labels(task: Task, rows, split: str) -> None:
    bad = [r["label"] for r in rows if not 0 <= r["label"] < task.num_labels]
    if bad:
        raise PTPError(f"{split} split: label {bad[0]} outside {task.name}'s {task.num_labels} labels "
                       "(unlabeled rows cannot be used for training or scoring)")
