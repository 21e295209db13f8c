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

from augment.common.errors import PTPError
from augment.common.spans import spec_ranges
from augment.common.tasks import Task, candidate_names, copa_connective, gold

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


CHOICE_KINDS = ("multiple_choice", "record")


def head_size(task: Task) -> int:
    """Outputs of the head per encoded input: one score per candidate for COPA and ReCoRD
    (softmax over a question's candidates), one logit per label otherwise."""
    return 1 if task.kind in CHOICE_KINDS else task.num_labels


def candidates(task: Task, example: dict, names: list[str]) -> list[dict]:
    """The row as the encoder sees each candidate: COPA with `choice` set, ReCoRD with the
    entity in place of @placeholder."""
    if task.kind == "multiple_choice":
        return [{**example, "choice": example[name]} for name in names]
    if task.kind == "record":
        return [{**example, "query": example["query"].replace("@placeholder", name)} for name in names]
    return [example]


def encode_rows(tokenizer, task: Task, rows, max_length: int, perturbed: bool = False) -> list[dict]:
    """Encode every row's candidates (and those of its `perturbed` partner when asked)."""
    out = []
    for row in rows:
        names = candidate_names(task, row)
        item = {"gold": gold(task, row), "names": names,
                "clean": [encode(tokenizer, task, c, max_length) for c in candidates(task, row, names)]}
        if perturbed:
            # The partner keeps the original's candidates: entities and choices are protected or
            # edited in place, so candidate i means the same answer in both views.
            partner = {**row, **row["perturbed"]}
            item["perturbed"] = [encode(tokenizer, task, c, max_length) for c in candidates(task, partner, names)]
        out.append(item)
    return out


def by_length(rows: list[dict], items: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows and their encodings in order of length, for scoring: batches of like lengths carry
    little padding (snippets of 5 to 128 tokens: about a third less work). Every metric here is
    order-free (MultiRC groups by question id), so nothing else changes."""
    order = length_order(items)
    return [rows[i] for i in order], [items[i] for i in order]


def length_order(items: list[dict]) -> list[int]:
    """Positions of encoded rows, shortest first."""
    return sorted(range(len(items)), key=lambda i: max(len(e.input_ids) for e in items[i]["clean"]))


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


def _pad_groups(groups: list[list[Encoded]], pad_id: int, length: int, width: int) -> dict:
    """[rows, width, ...] tensors: row-major, so that splitting a batch across processes keeps each
    row's candidates together. Missing candidates repeat the first and are marked invalid."""
    flat = [g[k] if k < len(g) else g[0] for g in groups for k in range(width)]
    batch = {k: v.view(len(groups), width, *v.shape[1:]) for k, v in _pad(flat, pad_id, length).items()}
    batch["valid"] = torch.tensor([[k < len(g) for k in range(width)] for g in groups])
    return batch


def flatten(view: dict) -> dict:
    """The valid candidates of a [rows, width, ...] view as one flat batch of encoder inputs."""
    valid = view["valid"].reshape(-1)
    return {k: v.reshape(valid.shape[0], *v.shape[2:])[valid] for k, v in view.items() if k != "valid"}


def scores(logits, valid) -> torch.Tensor:
    """Per-row scores [rows, outputs]: the label logits, or one score per candidate (padding
    candidates at -1e4, not -inf, so that softmax and KL stay finite)."""
    if logits.shape[-1] > 1:
        return logits.float()
    out = torch.full(valid.shape, -1e4, dtype=torch.float, device=logits.device)
    out[valid] = logits[:, 0].float()
    return out


class Collator:
    """Pads clean and perturbed inputs to one length, so they can share one forward pass."""

    def __init__(self, pad_id: int, outputs: int):
        self.pad_id, self.outputs = pad_id, outputs

    def __call__(self, items: list[dict]) -> dict:
        encs = [e for it in items for e in it["clean"] + it.get("perturbed", [])]
        length = max(len(e.input_ids) for e in encs)
        width = max(len(it["clean"]) for it in items)
        batch = {"clean": _pad_groups([it["clean"] for it in items], self.pad_id, length, width)}
        # gold: [rows, outputs] mask of right answers (labels or candidates).
        size = self.outputs if self.outputs > 1 else width
        batch["gold"] = torch.zeros((len(items), size), dtype=torch.bool)
        for i, it in enumerate(items):
            batch["gold"][i, it["gold"]] = True
        if "perturbed" in items[0]:
            batch["perturbed"] = _pad_groups([it["perturbed"] for it in items], self.pad_id, length, width)
        return batch


def check_rows(task: Task, rows, split: str) -> None:
    """Rows must carry what scoring needs: a label in range, or ReCoRD's gold answers."""
    if task.kind == "record":
        missing = [i for i, r in enumerate(rows) if not r["answers"] or not r["entities"]]
        if missing:
            raise PTPError(f"{split} split, row {missing[0]} (query {rows[missing[0]]['query_id']}): no gold answers "
                           "or no entities (unlabeled rows cannot be used for training or scoring)")
        return
    check_labels(task, rows, split)


def check_labels(task: Task, rows, split: str) -> None:
    bad = [r["label"] for r in rows if not 0 <= r["label"] < task.num_labels]
    if bad:
        raise PTPError(f"{split} split: label {bad[0]} outside {task.name}'s {task.num_labels} labels "
                       "(unlabeled rows cannot be used for training or scoring)")
