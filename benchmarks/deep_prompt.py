"""Step time of the deep prompts: P-tuning v2's key/value prefix (PEFT's, and ours where PEFT's
cannot go) and VPT-deep, on MiniLM and MPNet.

Usage: python benchmarks/deep_prompt.py [--steps 8] [--batch-size 32] [--out DIR]
       python benchmarks/deep_prompt.py --smoke --out DIR   (tiny random BERT and MPNet, 3 steps of 4 rows)

Three questions, one run, the same data (sentiment training snippets, mean pooling, 20 prompt
positions, vanilla steps, AdamW, gradients clipped at 1.0):
- on the packaged MiniLM (BERT: PEFT's prefix reaches it), what does our key/value prefix
  (training/kv_prefix.py, hooks on the attention) cost against PEFT's own (past_key_values), the
  same mechanism (`ptp_kv_prefix` over `ptp_prefix`; the target is at most 1.1)? And VPT-deep
  (`--method deep`, LayerPrompts) against PEFT's prefix?
- on MPNet-base (PEFT's prefix cannot reach it: `--method prefix` is ours there), what does the
  key/value prefix cost against VPT-deep?
- on MPNet, what does a step cost against the nearest thing PEFT offers there out of the box,
  prompt tuning driven by HF Trainer?
Median seconds per step after 2 warm-up steps; on MiniLM the arms take turns over --rounds (3) and
each keeps its fastest round (`by_round` has them all); `mechanisms` names what each arm ran.

Where VPT-deep costs more than a key/value prefix, it is by design: its P positions run through
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="MiniLM's arms take turns this many times; each keeps its fastest round's median")
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.steps = args.steps or (3 if args.smoke else 8)
    args.batch_size = args.batch_size or (4 if args.smoke else 32)
    if args.steps < 3:
        parser.error("--steps: at least 3 (the median is taken after 2 warm-up steps)")
    # The two roles: a BERT that PEFT's prefix reaches, and MPNet, which it cannot (ours runs there).
    encoders = {"minilm": "minilm", "mpnet": "mpnet"}
    if args.smoke:
        encoders = {"minilm": smoke_encoder("bert", out / "tiny-bert"),
                    "mpnet": smoke_encoder("mpnet", out / "tiny-mpnet")}

    from augment.common.tasks import get_task
    from training.config import TrainSpec
    from training.data import Collator, encode_rows
    from training.model import PooledClassifier, build_peft_model, load_encoder, prefix_config, prompt_mechanism
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
            if method == "kv-prefix":  # ours on BERT, which PEFT's prefix reaches: to compare the two
                from peft import get_peft_model

                return get_peft_model(PooledClassifier(encoder, 2, "mean", kv_prefix=True),
                                      prefix_config(encoder, spec.prefix_len))
            return build_peft_model(encoder, 2, "mean", 0, method, spec.prefix_len)

        variant = replace(spec, model=model)
        # The two prefixes one after the other; ours on BERT only where PEFT's is there to compare.
        arms = {"ptp_prefix": "prefix", **({"ptp_kv_prefix": "kv-prefix"} if model_name == "minilm" else {}),
                "ptp_deep": "deep", "ptp_prompt": "prompt"}
        # On the cheap encoder the arms take turns over rounds, and each keeps its least disturbed
        # round: on a shared machine the load moves within a run more than the arms differ.
        models = {arm: fresh(method) for arm, method in arms.items()}
        rounds = {arm: [] for arm in arms}
        for _ in range(args.rounds if model_name == "minilm" else 1):
            for arm, peft_model in models.items():
                rounds[arm].append(round(step_seconds(peft_model, batches, variant, with_pairs=False), 4))
        timings = {arm: min(times) for arm, times in rounds.items()}
        timings["peft_prompt_hf_trainer"] = trainer_seconds(fresh("prompt"), batches, items, collate,
                                                            args.batch_size, args.steps, spec.lr)
        mechanisms = {arm: prompt_mechanism(encoder, method) if method != "kv-prefix" else method
                      for arm, method in arms.items()}
        tokens = sum(len(it["clean"][0].input_ids) for it in items) / len(items)
        results[model_name] = {"model": "tiny random (smoke)" if args.smoke else model,
                               "parameters": sum(p.numel() for p in encoder.parameters()),
                               "mean_text_tokens": round(tokens, 1),
                               "layers": encoder.config.num_hidden_layers, "hidden": encoder.config.hidden_size,
                               "mechanisms": {**mechanisms, "peft_prompt_hf_trainer": "prompt"},
                               "median_seconds_per_step": {k: round(v, 4) for k, v in timings.items()},
                               "by_round": rounds}
    minilm, mpnet = (results[m]["median_seconds_per_step"] for m in ("minilm", "mpnet"))
    write("deep_prompt", {
        "task": "sentiment", "pooling": "mean", "prefix_len": spec.prefix_len, "batch_size": args.batch_size,
        "steps": args.steps, "minilm_rounds": args.rounds, "encoders": results,
        "ratios": {"minilm_kv_prefix_over_peft_prefix": round(minilm["ptp_kv_prefix"] / minilm["ptp_prefix"], 3),
                   "mpnet_kv_prefix_over_deep": round(mpnet["ptp_prefix"] / mpnet["ptp_deep"], 3),
                   "minilm_deep_over_peft_prefix": round(minilm["ptp_deep"] / minilm["ptp_prefix"], 3),
                   "mpnet_deep_over_peft_prompt_hf_trainer": round(mpnet["ptp_deep"] / mpnet["peft_prompt_hf_trainer"], 3),
                   "mpnet_deep_over_ptp_prompt": round(mpnet["ptp_deep"] / mpnet["ptp_prompt"], 3),
                   "mpnet_over_minilm_deep": round(mpnet["ptp_deep"] / minilm["ptp_deep"], 2)},
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 3),
    }, out, args.smoke)


if __name__ == "__main__":
    main()
