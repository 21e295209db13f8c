"""The model-agnostic deep prompt's step time, on MPNet and against PEFT's prefix.

Usage: python benchmarks/deep_prompt.py [--steps 8] [--batch-size 32] [--out DIR]
       python benchmarks/deep_prompt.py --smoke --out DIR   (tiny random BERT and MPNet, 3 steps of 4 rows)

Two questions, one run, the same data (sentiment training snippets, mean pooling, 20 prompt
positions, vanilla steps, AdamW, gradients clipped at 1.0):
- on the packaged MiniLM (BERT: PEFT's prefix reaches it), what does the deep prompt
  (`--method deep`, training/model.py LayerPrompts) cost against PEFT's prefix (`--method prefix`)?
- on MPNet-base (PEFT's prefix cannot reach it), what does a deep-prompt step cost against the
  nearest thing PEFT offers there, prompt tuning driven by HF Trainer?
Median seconds per step after 2 warm-up steps.

Where the deep prompt costs more than PEFT's prefix, it is by design: its P positions run through
every layer's attention and feed-forward (their outputs are then replaced), while the prefix only
adds P keys and values; the ratio shrinks as texts grow past P.
"""
from __future__ import annotations

import argparse
import resource
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_output_options, output_folder, smoke_encoder, write  # noqa: E402
from benchmarks.train_vs_trainer import step_seconds, trainer_seconds  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=None, help="[default: 8; --smoke: 3]")
    parser.add_argument("--batch-size", type=int, default=None, help="[default: 32; --smoke: 4]")
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.steps = args.steps or (3 if args.smoke else 8)
    args.batch_size = args.batch_size or (4 if args.smoke else 32)
    if args.steps < 3:
        parser.error("--steps: at least 3 (the median is taken after 2 warm-up steps)")
    # The two roles: a BERT that PEFT's prefix reaches, and MPNet, which it cannot.
    encoders = {"minilm": "minilm", "mpnet": "mpnet"}
    if args.smoke:
        encoders = {"minilm": smoke_encoder("bert", out / "tiny-bert"),
                    "mpnet": smoke_encoder("mpnet", out / "tiny-mpnet")}

    from augment.common.tasks import get_task
    from training.config import TrainSpec
    from training.data import Collator, encode_rows
    from training.model import build_peft_model, load_encoder
    from training.protocol import load_training_data, open_data

    task = get_task("sentiment")
    spec = TrainSpec(task="sentiment", batch_size=args.batch_size, consistency="none", pooling="mean")
    rows = load_training_data(spec, open_data("sentiment", log=lambda *_: None), log=lambda *_: None)[0]
    rows = rows[:args.batch_size * args.steps]
    results = {}
    for model_name, model in encoders.items():
        encoder, tokenizer = load_encoder(model, spec.dropout)
        items = encode_rows(tokenizer, task, rows, spec.max_length)
        collate = Collator(tokenizer.pad_token_id, 2)
        batches = [collate(items[i:i + args.batch_size]) for i in range(0, len(items), args.batch_size)]

        def fresh(method):
            torch.manual_seed(0)
            return build_peft_model(encoder, 2, "mean", 0, method, spec.prefix_len)

        variant = replace(spec, model=model)
        timings = {f"ptp_{method}": step_seconds(fresh(method), batches, variant, with_pairs=False)
                   for method in ("deep", "prompt") + (("prefix",) if model_name == "minilm" else ())}
        timings["peft_prompt_hf_trainer"] = trainer_seconds(fresh("prompt"), batches, items, collate,
                                                            args.batch_size, args.steps, spec.lr)
        tokens = sum(len(it["clean"][0].input_ids) for it in items) / len(items)
        results[model_name] = {"model": "tiny random (smoke)" if args.smoke else model,
                               "parameters": sum(p.numel() for p in encoder.parameters()),
                               "mean_text_tokens": round(tokens, 1),
                               "layers": encoder.config.num_hidden_layers, "hidden": encoder.config.hidden_size,
                               "median_seconds_per_step": {k: round(v, 4) for k, v in timings.items()}}
    minilm, mpnet = (results[m]["median_seconds_per_step"] for m in ("minilm", "mpnet"))
    write("deep_prompt", {
        "task": "sentiment", "pooling": "mean", "prefix_len": spec.prefix_len, "batch_size": args.batch_size,
        "steps": args.steps, "encoders": results,
        "ratios": {"minilm_deep_over_peft_prefix": round(minilm["ptp_deep"] / minilm["ptp_prefix"], 3),
                   "mpnet_deep_over_peft_prompt_hf_trainer": round(mpnet["ptp_deep"] / mpnet["peft_prompt_hf_trainer"], 3),
                   "mpnet_deep_over_ptp_prompt": round(mpnet["ptp_deep"] / mpnet["ptp_prompt"], 3),
                   "mpnet_over_minilm_deep": round(mpnet["ptp_deep"] / minilm["ptp_deep"], 2)},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3),
    }, out, args.smoke)


if __name__ == "__main__":
    main()
