"""'Reloads and scores the same', checked on logits, not on accuracy over a handful of rows (a
tiny model predicting one class has the same accuracy whatever was reloaded).

`saved_scores(monkeypatch)` records, for every seed a run saves, the trained model's scores on
fixed rows of the run's own data (its first validation and train rows), taken as the adapter is
written; `assert_reloads_the_same(seed_dir, saved)` reloads the folder as `ptp-train evaluate`
does and compares its scores on the same rows, value for value.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

ROWS = 8


def fixed_batch(spec, provenance: dict):
    from augment.common.tasks import get_task
    from training.data import Collator, encode_rows, head_size
    from training.model import load_encoder
    from training.reload import run_data

    task = get_task(spec.task)
    data = run_data(task.name, provenance, log=lambda *_: None)
    rows = data["validation"].to_list()[:ROWS] + data["train"].to_list()[:ROWS]
    tokenizer = load_encoder(spec.model)[1]
    return Collator(tokenizer.pad_token_id, head_size(task))(encode_rows(tokenizer, task, rows, spec.max_length))


def scores_of(model, batch) -> torch.Tensor:
    from training.objective import forward_scores

    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = forward_scores(model, batch["clean"]).float().cpu()
    model.train(was_training)
    return out


def saved_scores(monkeypatch) -> dict:
    """{seed folder: the trained model's scores on the run's fixed rows as its adapter was saved}."""
    import training.loop as loop
    from training.config import TrainSpec

    saved, real = {}, loop.save_run

    def save_run(accelerator, model, result, work, out):
        config = json.loads((Path(work) / "config.json").read_text())
        # The prepared model: under --precision bf16 its forward runs in the run's autocast.
        saved[Path(out)] = scores_of(model, fixed_batch(TrainSpec.from_dict(config["spec"]), config["provenance"]))
        return real(accelerator, model, result, work, out)

    monkeypatch.setattr(loop, "save_run", save_run)
    return saved


def assert_reloads_the_same(seed_dir, saved: dict, device: str = "cpu") -> None:
    """The reloaded folder's scores equal the trained model's, and depend on the adapter."""
    from training.loop import make_accelerator
    from training.model import build_peft_model, load_encoder
    from training.reload import load_run

    spec, provenance, model, _ = load_run(Path(seed_dir))
    batch = fixed_batch(spec, provenance)
    reloaded = scores_of(make_accelerator(device, spec.precision).prepare(model), batch)
    torch.testing.assert_close(reloaded, saved[Path(seed_dir)], rtol=0, atol=1e-6)
    # A fresh adapter on the same base scores otherwise: the comparison above saw the adapter.
    from augment.common.tasks import get_task
    from training.data import head_size

    task = get_task(spec.task)
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        fresh = build_peft_model(load_encoder(spec.model, spec.dropout)[0], head_size(task), spec.pooling,
                                 len(task.pooled_spans), spec.method, spec.prefix_len, spec.prefix_projection)
    assert not torch.allclose(scores_of(make_accelerator(device, spec.precision).prepare(fresh), batch), reloaded,
                              atol=1e-4), "the scores do not depend on the adapter"
