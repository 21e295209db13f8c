"""Loss landscape of a trained run around its validation inputs, in input-embedding space.

Directions: d1 = the gradient of the validation loss with respect to the input embeddings (the
sharpest way up), d2 = a random direction made orthogonal to it; both normalised per example to
unit norm over real tokens. The loss is evaluated on a (2K+1)^2 grid of alpha*d1 + beta*d2 with
|alpha|, |beta| <= radius (same radius for every run, so runs compare on one scale). Sharpness is
the largest loss rise over the grid points within that radius.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch


def _loss(model, embeds, batch, flat) -> torch.Tensor:
    from training.objective import flat_scores
    from training.losses import gold_cross_entropy

    return gold_cross_entropy(flat_scores(model, flat, batch["clean"]["valid"], embeds), batch["gold"])


def _unit(d: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    d = d * mask.unsqueeze(-1)
    return d / d.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)


def landscape(run: Path, rows: int = 128, radius: float = 1.0, points: int = 5, seed: int = 0) -> dict:
    from augment.common.tasks import get_task
    from training.data import Collator, encode_rows, flatten, head_size
    from training.reload import load_run, run_data
    from training.model import input_embeddings

    spec, provenance, model, tokenizer = load_run(run)
    task = get_task(spec.task)
    data = run_data(task.name, provenance, log=lambda *_: None)
    val = data["validation"].select(range(min(rows, len(data["validation"])))).to_list()
    batch = Collator(tokenizer.pad_token_id, head_size(task))(encode_rows(tokenizer, task, val, spec.max_length))
    flat = flatten(batch["clean"])
    mask = flat["attention_mask"].float()
    base = input_embeddings(model)(flat["input_ids"]).detach()
    probe = base.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_loss(model, probe, batch, flat), probe)
    d1 = _unit(grad, mask)
    rand = torch.randn(base.shape, generator=torch.Generator().manual_seed(seed))
    rand = rand - (rand * d1).flatten(1).sum(1).view(-1, 1, 1) * d1  # Gram-Schmidt against d1
    d2 = _unit(rand, mask)
    steps = torch.linspace(-radius, radius, 2 * points + 1)
    with torch.no_grad():
        grid = [[_loss(model, base + a * d1 + b * d2, batch, flat).item() for b in steps] for a in steps]
    center = grid[points][points]
    within = [grid[i][j] for i in range(len(steps)) for j in range(len(steps))
              if (steps[i] ** 2 + steps[j] ** 2) ** 0.5 <= radius + 1e-9]
    return {"run": str(run), "rows": len(val), "radius": radius, "steps": steps.tolist(), "loss": grid,
            "center_loss": center, "sharpness": max(within) - center,
            "slice_gradient": [grid[i][points] for i in range(len(steps))]}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = result["steps"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    contour = left.contourf(steps, steps, result["loss"], levels=20)
    fig.colorbar(contour, ax=left, label="validation loss")
    left.set_xlabel("random orthogonal direction")
    left.set_ylabel("gradient direction")
    left.set_title(f"sharpness {result['sharpness']:.4f} (radius {result['radius']})")
    right.plot(steps, result["slice_gradient"], marker="o")
    right.set_xlabel("step along the gradient direction")
    right.set_ylabel("validation loss")
    right.set_title("1D slice")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "landscape.json").write_text(json.dumps(result, indent=2))
    plot(result, out / "landscape.png")
