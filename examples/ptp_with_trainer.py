"""P-tuning v2 with Hugging Face's Trainer, and PTP added in three lines (offline, on MiniLM).

The script a prompt-tuning researcher already has: a frozen encoder with PEFT's prefix
(AutoModelForSequenceClassification + PrefixTuningConfig), tokenized rows, Trainer. PTP is the
three marked lines: a regulariser config, PTPTrainer for Trainer, and (for text partners) the
partners' columns with PartnerCollator.

    python examples/ptp_with_trainer.py --regulariser freelb --epochs 6           # MiniLM, 32 sentiment rows
    python examples/ptp_with_trainer.py --regulariser sam --same-as-ptp-train     # ptp-train's model and rows

With --same-as-ptp-train the model and rows are ptp-train's own (training.api.prompt_model,
encoded_task: mean pooling over the text, the task's template), and the run equals
`ptp-train --task sentiment --train-size 32 --epochs E --batch-size 4 --lr LR --pooling mean
--seed S --embed-noise ...` step for step (tests/test_api.py checks it). Without it the head is
transformers' own ([CLS] pooler + a freshly initialised linear layer), as in P-tuning v2's
scripts; the losses are then this model's, not ptp-train's.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm", help="'minilm' (packaged), 'mpnet', or a local checkpoint")
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--data-dir", default=None, help="official SuperGLUE files of --task (default: its embedded set)")
    parser.add_argument("--train-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--prefix-len", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regulariser", default="none", choices=["none", "gaussian", "freelb", "sam"])
    parser.add_argument("--same-as-ptp-train", action="store_true")
    parser.add_argument("--out", default="data/example-trainer")
    args = parser.parse_args(argv)

    from accelerate.utils import set_seed
    from peft import PrefixTuningConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification, TrainingArguments

    from training.api import PartnerCollator, PTPTrainer, encoded_task, prompt_model  # PTP (1/3)
    from training.config import TrainSpec
    from training.model import load_encoder, resolve_model_path
    from training.protocol import load_training_data, open_data
    from training.regularisers import SAM, FreeLB, GaussianNoise

    regulariser = {"none": None, "gaussian": GaussianNoise(sigma=0.02), "freelb": FreeLB(step_size=0.1, steps=2),
                   "sam": SAM(rho=0.05)}[args.regulariser]  # PTP (2/3)
    spec = TrainSpec(task=args.task, model=args.model, train_size=args.train_size, epochs=args.epochs,
                     batch_size=args.batch_size, lr=args.lr, prefix_len=args.prefix_len, pooling="mean", seed=args.seed,
                     device="cpu", precision="fp32", **(regulariser.settings() if regulariser else {}))
    data = open_data(spec.task, source="local" if args.data_dir else "auto", data_dir=args.data_dir, log=print)
    set_seed(args.seed)
    if args.same_as_ptp_train:
        model, tokenizer = prompt_model(spec)
        train, collate = encoded_task(spec, tokenizer, data)
    else:  # the usual P-tuning v2 script: transformers' head, PEFT's prefix, the text tokenized as it is
        _, tokenizer = load_encoder(spec.model)
        base = AutoModelForSequenceClassification.from_pretrained(
            resolve_model_path(spec.model), num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        model = get_peft_model(base, PrefixTuningConfig(task_type="SEQ_CLS", num_virtual_tokens=spec.prefix_len))
        rows = load_training_data(spec, data, log=print)[0]
        from augment.common.tasks import get_task

        fields = list(get_task(spec.task).input_fields)[:2]
        train = [dict(tokenizer(*[r[f] for f in fields], truncation=True, max_length=128), labels=r["label"]) for r in rows]
        collate = PartnerCollator(tokenizer)
    training_args = TrainingArguments(
        output_dir=args.out, per_device_train_batch_size=spec.batch_size, num_train_epochs=spec.epochs,
        learning_rate=spec.lr, weight_decay=0.0, max_grad_norm=1.0, lr_scheduler_type="linear", seed=spec.seed,
        optim="adamw_torch", use_cpu=True, remove_unused_columns=False, report_to=[], save_strategy="no",
        logging_steps=1)
    trainer = PTPTrainer(model=model, args=training_args, train_dataset=train, data_collator=collate,
                         regulariser=regulariser)  # PTP (3/3): Trainer -> PTPTrainer
    trainer.train()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "losses.json").write_text(json.dumps({"settings": vars(args), "steps": trainer.ptp_history}, indent=1))
    trainer.save_model(str(out / "adapter"))
    print(f"{len(trainer.ptp_history)} steps; last loss {trainer.ptp_history[-1]['loss']:.4f}; wrote {out}")


if __name__ == "__main__":
    main()
