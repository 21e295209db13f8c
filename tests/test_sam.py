"""SAM (training/regularisers/sam.py): the step's gradient is the loss's gradient at the
perturbed point w + rho * g / ||g||, computed here by hand on a tiny model."""
import copy

import pytest
import torch

from tests.tiny_models import tiny_batch
from training.losses import gold_cross_entropy
from training.objective import forward_scores, training_loss


def test_sam_update_is_the_gradient_at_the_perturbed_point(tmp_path):
    model, embed, batch, spec = tiny_batch(tmp_path / "bert", embed_noise="sam", rho=0.3)
    model.eval()  # no dropout: the forwards by hand and the step's see the same function
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert any("classifier" in n for n in trained) and any("prompt" in n for n in trained)

    # By hand: g at w, the ascent point w + rho g/||g|| written into a copy, and the gradient there.
    loss = gold_cross_entropy(forward_scores(model, batch["clean"]), batch["gold"])
    grads = torch.autograd.grad(loss, list(trained.values()))
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    shifted = copy.deepcopy(model)
    with torch.no_grad():
        moved = dict(shifted.named_parameters())
        for (n, _), g in zip(trained.items(), grads):
            moved[n].add_(0.3 * g / norm)
    shifted_loss = gold_cross_entropy(forward_scores(shifted, batch["clean"]), batch["gold"])
    shifted_loss.backward()
    expected = {n: moved[n].grad.clone() for n in trained}

    before = {n: p.detach().clone() for n, p in trained.items()}
    out = training_loss(model, embed, batch, spec, torch.Generator().manual_seed(0))
    out.total.backward()
    assert out.total.item() == pytest.approx(shifted_loss.item(), rel=1e-5)  # SAM's loss is L(w + e)
    assert out.clean.item() == pytest.approx(loss.item(), rel=1e-5)  # logged: the loss at w
    for n, p in trained.items():
        torch.testing.assert_close(p.grad, expected[n], rtol=1e-4, atol=1e-6)
    # ... which is not the plain gradient at w: the ascent moved somewhere
    assert any(not torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(trained.values(), grads))
    # The weights themselves are untouched by the step (the perturbed point is never written in).
    for n, p in trained.items():
        assert torch.equal(p.detach(), before[n])


def test_sam_is_a_method_of_stability_and_sweep():
    from pipelines.presets import PRESETS
    from pipelines.sweep import apply, parse_grid, settings
    from training.config import TrainSpec

    assert PRESETS["sam"] == {"pairs": None, "train": {"embed_noise": "sam", "rho": 0.05}}
    grid = parse_grid(["rho=0.01,0.05,0.2"])
    specs = [TrainSpec(task="rte", **apply(PRESETS["sam"], s)["train"]) for s in settings(grid)]
    assert [s.rho for s in specs] == [0.01, 0.05, 0.2] and {s.embed_noise for s in specs} == {"sam"}
    assert TrainSpec(task="rte", embed_noise="sam", rho=0.2).to_dict()["rho"] == 0.2  # in the run's identity


def test_sam_needs_no_consistency_term_and_its_step_is_the_same_without_one(tmp_path):
    """SAM's term is the task loss at the perturbed weights: it reads no --consistency, so the spec
    takes `--consistency none` with it (other regularisers still need one), and the step is the
    same; its config class refuses a consistency."""
    from dataclasses import replace

    from augment.common.errors import PTPError
    from training.config import TrainSpec
    from training.regularisers import SAM, GaussianNoise

    model, embed, batch, spec = tiny_batch(tmp_path / "bert", embed_noise="sam", rho=0.3)
    model.eval()
    with_ce = training_loss(model, embed, batch, spec, torch.Generator().manual_seed(0)).total.item()
    without = training_loss(model, embed, batch, replace(spec, consistency="none"), torch.Generator().manual_seed(0))
    assert without.perturbed is not None and without.total.item() == pytest.approx(with_ce, rel=1e-6)
    with pytest.raises(PTPError, match="needs a consistency term"):
        TrainSpec(task="rte", embed_noise="gaussian", consistency="none")
    with pytest.raises(PTPError, match="SAM reads no consistency term"):
        SAM(consistency="kl")
    assert SAM().settings()["consistency"] == "ce" and GaussianNoise(consistency="kl").consistency == "kl"
