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


def gold_cross_entropy(scores: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """-log of the probability mass on the right outputs, averaged over rows.

    `scores` [rows, outputs], `gold` a bool mask of the same shape. With one right output per row
    this is plain cross-entropy; ReCoRD may have several right candidates (one entity, two spellings).
    """
    right = scores.float().masked_fill(~gold, -1e4)
    return (scores.float().logsumexp(-1) - right.logsumexp(-1)).mean()


def consistency_loss(kind: str, clean_scores, perturbed_scores, gold) -> torch.Tensor:
    if kind == "ce":
        return gold_cross_entropy(perturbed_scores, gold)
    if kind == "kl":
        return symmetric_kl(clean_scores, perturbed_scores)
    raise ValueError(kind)
