"""PTP as a library (training/api.py): ptp-train, a plain loop calling PTP.loss and Hugging Face's
Trainer (PTPTrainer) give the same numbers for the same settings: vanilla, Gaussian noise,
FreeLB, SAM and text partners."""
import json

import pytest
import torch

from training.config import TrainSpec

STEPS_OF = {}


def _spec(model, regulariser, **extra):
    settings = regulariser.settings() if regulariser is not None else {}
    return TrainSpec(task="rte", model=str(model), prefix_len=4, pooling="mean", epochs=2, batch_size=4, lr=3e-2,
                     device="cpu", precision="fp32", seed=3, **settings, **extra)


def _trained(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def plain_loop(spec, data, regulariser):
    """The loop a user writes around PTP.loss, with ptp-train's optimiser, schedule, clipping and order."""
    from accelerate.utils import set_seed
    from transformers import get_linear_schedule_with_warmup

    from training.api import PTP, encoded_task, prompt_model

    set_seed(spec.seed)
    model, tokenizer = prompt_model(spec)
    items, collate = encoded_task(spec, tokenizer, data, log=lambda *_: None)
    loader = torch.utils.data.DataLoader(items, batch_size=spec.batch_size, shuffle=True, collate_fn=collate,
                                         generator=torch.Generator().manual_seed(spec.seed))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, spec.epochs * len(loader))
    ptp = PTP(regulariser, seed=spec.seed)
    losses, weights, step = [], [], 0
    model.train()
    for _ in range(spec.epochs):
        for batch in loader:
            step += 1
            loss = ptp.loss(model, batch, step)
            loss.total.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.total.detach()))
        weights.append(_trained(model))
    return losses, weights, len(loader)


def trainer_path(spec, data, regulariser, tmp_path):
    from accelerate.utils import set_seed
    from transformers import TrainingArguments

    from training.api import PTPTrainer, encoded_task, prompt_model

    set_seed(spec.seed)
    model, tokenizer = prompt_model(spec)
    items, collate = encoded_task(spec, tokenizer, data, log=lambda *_: None)
    args = TrainingArguments(output_dir=str(tmp_path / "trainer"), per_device_train_batch_size=spec.batch_size,
                             num_train_epochs=spec.epochs, learning_rate=spec.lr, weight_decay=0.0, max_grad_norm=1.0,
                             optim="adamw_torch", lr_scheduler_type="linear", seed=spec.seed, use_cpu=True,
                             remove_unused_columns=False, report_to=[], save_strategy="no", logging_strategy="no",
                             disable_tqdm=True)
    trainer = PTPTrainer(model=model, args=args, train_dataset=items, data_collator=collate, regulariser=regulariser)
    trainer.train()
    return [h["loss"] for h in trainer.ptp_history], _trained(model)


def _regularisers():
    from training.regularisers import SAM, FreeLB, GaussianNoise

    return {"vanilla": None, "gaussian": GaussianNoise(sigma=0.05), "freelb": FreeLB(step_size=0.1, steps=2, init_mag=0.1),
            "sam": SAM(rho=0.05), "pairs": "pairs"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vanilla", "gaussian", "freelb", "sam", "pairs"])
def test_ptp_train_plain_loop_and_trainer_give_the_same_numbers(tmp_path, fixtures, name):
    from augment.build import build_corpus
    from augment.random_ops import RandomSpec
    from tests.tiny_models import make_tiny_bert
    from training.protocol import open_data
    from training.runs import run_seeds

    model = make_tiny_bert(tmp_path / "bert")
    regulariser = _regularisers()[name]
    if regulariser == "pairs":  # text partners: a random corpus, no embedding regulariser
        regulariser = None
        corpus = tmp_path / "pairs"
        build_corpus("rte", "random", out=corpus, source="local", data_dir=fixtures / "RTE", spec=RandomSpec(rate=0.3),
                     log=lambda *_: None)
        data = open_data("rte", pairs=corpus, log=lambda *_: None)
    else:
        data = open_data("rte", data_dir=fixtures / "RTE", log=lambda *_: None)
    spec = _spec(model, regulariser, eval_every=1)
    summary = run_seeds(spec, [spec.seed], data, out=tmp_path / "ptp-train", log=lambda *_: None, track="none")
    metrics = json.loads((tmp_path / "ptp-train" / f"seed-{spec.seed}" / "metrics.json").read_text())
    losses, weights, per_epoch = plain_loop(spec, data, regulariser)
    trainer_losses, trainer_weights = trainer_path(spec, data, regulariser, tmp_path)
    # The Trainer and the plain loop: every step's loss, and the trained prompt and head.
    assert trainer_losses == pytest.approx(losses, abs=1e-5)
    for key, value in weights[-1].items():
        assert torch.allclose(trainer_weights[key], value, atol=1e-5), key
    # ptp-train: each epoch's mean loss, and its kept adapter (the validation-selected epoch's).
    epoch_means = [sum(losses[i * per_epoch:(i + 1) * per_epoch]) / per_epoch for i in range(spec.epochs)]
    assert [h["train_loss"] for h in metrics["history"]] == pytest.approx(epoch_means, abs=2e-5)
    from safetensors.torch import load_file

    adapter = load_file(str(tmp_path / "ptp-train" / f"seed-{spec.seed}" / "adapter" / "adapter_model.safetensors"))
    kept = weights[metrics["adapter_epoch"] - 1]
    prompt = next(v for k, v in kept.items() if "prompt_encoder" in k)
    saved = next(v for k, v in adapter.items() if "prompt_embeddings" in k)
    assert torch.allclose(saved, prompt, atol=1e-5)
    assert summary["seeds"] == [spec.seed] and (regulariser is None or metrics["history"][0]["train_loss"] > 0)
