"""Prompt noise (training/regularisers/prompt_noise.py): Gaussian noise on the prompt's own
parameters, relative to their scale; the input embeddings and the head are left alone."""
import copy

import pytest
import torch

from tests.tiny_models import tiny_batch
from training.losses import symmetric_kl
from training.objective import Batch, forward_scores
from training.regularisers import REGULARISERS


def test_prompt_noise_reaches_the_prompt_and_not_the_input_embeddings(tmp_path):
    model, embed, batch, spec = tiny_batch(tmp_path / "bert", embed_noise="prompt-noise", prompt_sigma=0.5,
                                           consistency="kl")
    model.eval()
    seen = []
    hook = embed.register_forward_hook(lambda module, args, out: seen.append(out.detach().clone()))
    step = Batch(model, embed, batch, spec, torch.Generator().manual_seed(7))
    clean, term, finite = REGULARISERS["prompt-noise"].term(step)
    hook.remove()
    # The input embeddings of every forward (the view's, the clean one's, the noisy prompt's) are the same.
    assert len(seen) == 3 and all(torch.equal(seen[0], s) for s in seen[1:])

    # By hand: the prompt's weight plus N(0, (0.5 * its RMS)^2), drawn as the step draws it; head unchanged.
    prompt = {n: p for n, p in model.named_parameters() if p.requires_grad and "classifier" not in n.split(".")}
    assert list(prompt) == ["prompt_encoder.default.embedding.weight"]
    weight = prompt["prompt_encoder.default.embedding.weight"].detach()
    noise = 0.5 * weight.pow(2).mean().sqrt() * torch.randn(weight.shape, generator=torch.Generator().manual_seed(7))
    noisy = copy.deepcopy(model)
    with torch.no_grad():
        dict(noisy.named_parameters())["prompt_encoder.default.embedding.weight"].add_(noise)
    by_hand = forward_scores(noisy, batch["clean"])
    assert not torch.allclose(by_hand, clean, atol=1e-4)  # the noise changed the prediction
    assert term.item() == pytest.approx(symmetric_kl(clean, by_hand).item(), rel=1e-4) and finite

    # Its gradient reaches the prompt through the noisy copy (and the head through both forwards).
    term.backward()
    assert prompt["prompt_encoder.default.embedding.weight"].grad.abs().sum() > 0
    assert embed.weight.grad is None  # the frozen input embeddings get nothing


def test_prompt_noise_scales_with_the_prompt_and_is_a_method_of_stability_and_sweep():
    from pipelines.presets import PRESETS
    from pipelines.sweep import apply, parse_grid, settings
    from training.config import TrainSpec
    from training.regularisers.prompt_noise import noisy_prompt

    small, large = torch.full((4, 8), 0.1), torch.full((4, 8), 10.0)
    a = noisy_prompt({"p": small}, 0.2, torch.Generator().manual_seed(0))["p"] - small
    b = noisy_prompt({"p": large}, 0.2, torch.Generator().manual_seed(0))["p"] - large
    torch.testing.assert_close(b, a * 100)  # relative to the prompt's own RMS
    assert PRESETS["rn-prompt"]["train"]["embed_noise"] == "prompt-noise"
    grid = parse_grid(["prompt_sigma=0.05,0.1,0.2"])
    specs = [TrainSpec(task="rte", **apply(PRESETS["rn-prompt"], s)["train"]) for s in settings(grid)]
    assert [s.prompt_sigma for s in specs] == [0.05, 0.1, 0.2]
