"""The training objective: task cross-entropy on the original + lambda * consistency term.

- `ce`: cross-entropy of the perturbed input against the gold label (the PTP objective);
- `kl`: symmetric KL between the clean and the perturbed predictive distributions (R-Drop/SMART);
- `none`: no perturbed term (vanilla prompt tuning).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

CONSISTENCY = ("ce", "kl", "none")


def symmetric_kl(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    log_a, log_b = F.log_softmax(logits_a.float(), -1), F.log_softmax(logits_b.float(), -1)
    return 0.5 * (F.kl_div(log_a, log_b, log_target=True, reduction="batchmean")
                  + F.kl_div(log_b, log_a, log_target=True, reduction="batchmean"))


def consistency_loss(kind: str, clean_logits, perturbed_logits, labels) -> torch.Tensor:
    if kind == "ce":
        return F.cross_entropy(perturbed_logits.float(), labels)
    if kind == "kl":
        return symmetric_kl(clean_logits, perturbed_logits)
    raise ValueError(kind)
