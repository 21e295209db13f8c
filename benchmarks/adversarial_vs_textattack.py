"""Adversarial mode vs TextAttack, four ways on one victim and the same examples, in one run.

Usage: python benchmarks/adversarial_vs_textattack.py [--task sentiment] [--rows 60] [--stock-rows 20]
           [--batch-sizes 64] [--precision auto|fp32|bf16|int8] [--device auto|cpu|cuda] [--scaling N]
           [--victim RUN] [--out DIR]
       python benchmarks/adversarial_vs_textattack.py --smoke --out DIR
           (3 rows, 1 stock row, a tiny random BERT victim trained on 16 rows for 1 epoch)

1. `textattack_stock`: TextAttack's Attacker with its stock HuggingFaceModelWrapper, as users run
   it: the victim as a plain transformers model (AutoModelForSequenceClassification + the PEFT
   prefix adapter), every query padded to the tokenizer's max length (492: 512 less the prefix),
   the task's rendered segments as the attacked columns (with no protected words). Slow, so on the
   first --stock-rows rows only.
2. `textattack_attacker`: the same Attacker and PWWSRen2019 driving this project's victim
   (dynamic padding), plus the protected-span constraint.
3. `forward_bound`: the batches this project's search sent the victim, replayed on the bare
   victim: the time the search cannot go below with this victim.
4. `ptp_augment`: this project's batched search, at each --batch-sizes (a chunk of at least that
   many examples is searched in lock step); at a lower precision (`--precision`: bf16 on a GPU, int8
   on a CPU) with every success confirmed by the fp32 victim; and with fewer queries: words
   ordered by leave-one-out alone (`--word-order unk`) instead of PWWS's weighted saliency.
5. `a2t`: the offline A2T-style recipe (`--recipe a2t-wordnet-minilm`: WordNet swaps under a
   MiniLM cosine >= 0.9, part of speech and a 10% modification rate, leave-one-out order), run by
   TextAttack's Attacker as an Attack of the same parts, and by this project's search; its rows/s
   beside PWWS's (arm 4 at fp32) on the same rows.
`--scaling N`: `ptp-augment build` on N train rows at 1 and at 2 processes (torchrun), rows/s.

Arms 1-4 search TextAttack's stock PWWS space (WordSwapWordNet, RepeatModification,
StopwordModification, no max-change limit). The victim is a CLS-pooled prefix-tuned MiniLM
(BertForSequenceClassification's head, so plain transformers + peft can load it: the stock wrapper
needs that), trained here once on 2,048 train rows for 2 epochs and cached, unless --victim names
a CLS-pooled run. The default task is the movie-review sentiment set, on which a CLS-pooled MiniLM
learns (73.8% validation); on WordNet-WiC it stays at chance, which leaves nothing to attack.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (add_output_options, output_folder, smoke_encoder, smoke_victim,  # noqa: E402
                               timed_build, write)


class Recording:
    """The victim, recording every batch the search sends it."""

    def __init__(self, victim):
        self.victim, self.batches = victim, []
        self.unk_token = victim.unk_token
        self.token_ids = victim.token_ids

    def predict_proba(self, examples):
        self.batches.append(list(examples))
        return self.victim.predict_proba(examples)

    def lowered(self, precision):
        return self.victim.lowered(precision)


def cls_victim(task: str, log) -> Path:
    """A CLS-pooled vanilla prefix-tuning run on the task (2,048 train rows, 2 epochs), cached."""
    from augment.common.resources import cache_dir
    from training.config import TrainSpec
    from training.protocol import open_data
    from training.runs import run_seeds

    out = cache_dir() / "victims" / f"benchmark_{task}_cls_2048x2"
    if not (out / "seed-1" / "metrics.json").exists():
        log(f"training the benchmark's CLS victim into {out}")
        run_seeds(TrainSpec(task=task, pooling="cls", epochs=2, max_train=2048), [1], open_data(task, log=log), out=out,
                  log=log, track="none")
    return out / "seed-1"


def stock_attack(task, rows, run: Path, device) -> dict:
    """TextAttack's Attacker + PWWSRen2019 + HuggingFaceModelWrapper on a plain transformers model."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from augment.attack.offline import textattack_offline
    from training.data import render

    with textattack_offline():  # NLTK's stopwords and WordNet from this project's resources
        import textattack
        from textattack.attack_recipes import PWWSRen2019
        from textattack.models.wrappers import HuggingFaceModelWrapper

    base = json.loads((run / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=task.num_labels)
    model = PeftModel.from_pretrained(model, str(run / "adapter")).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    # BERT numbers positions after the prefix's virtual tokens, so a prefix-tuned model takes at
    # most 512 - prefix length tokens: the stock wrapper, which pads every query to the tokenizer's
    # model_max_length, crashes on 512 and needs this.
    tokenizer.model_max_length = model.config.max_position_embeddings - model.peft_config["default"].num_virtual_tokens
    # The stock wrapper's own __call__ (tokenize, pad to max length, forward, logits); its
    # constructor asserts a transformers.PreTrainedModel, which a PEFT model is not.
    wrapper = HuggingFaceModelWrapper.__new__(HuggingFaceModelWrapper)
    wrapper.model, wrapper.tokenizer, wrapper.max_length = model, tokenizer, None
    segments = [render(task, r)[0] for r in rows]
    dataset = textattack.datasets.Dataset([(tuple(s), r["label"]) for s, r in zip(segments, rows)],
                                          input_columns=[f"segment_{i}" for i in range(len(segments[0]))])
    with textattack_offline():
        attack = PWWSRen2019.build(wrapper)
    args = textattack.AttackArgs(num_examples=len(rows), disable_stdout=True, silent=True)
    start = time.perf_counter()
    results = textattack.Attacker(attack, dataset, args).attack_dataset()
    seconds = time.perf_counter() - start
    kinds = [type(r).__name__.replace("AttackResult", "").lower() for r in results]
    return {"seconds": seconds, "queries": sum(r.num_queries for r in results), "max_length": tokenizer.model_max_length,
            "statuses": {k: kinds.count(k) for k in ("successful", "failed", "skipped")}}


def rate(statuses: dict) -> float:
    return round(100 * statuses["successful"] / max(statuses["successful"] + statuses["failed"], 1), 2)


def ratio(a: float | None, b: float | None, digits: int) -> float | None:
    """a / b, or None when b is 0 or either is missing: textattack_attack reports its time in tenths
    of a second, which rounds to 0 when a --smoke run's tiny victim is attacked that fast."""
    return round(a / b, digits) if a is not None and b else None


def arm(seconds: float, rows: int, queries: int, statuses: dict, **extra) -> dict:
    return {"seconds": round(seconds, 1), "examples_per_s": ratio(rows, seconds, 3), "queries": queries,
            "queries_per_s": ratio(queries, seconds, 1), "success_rate": rate(statuses), "statuses": statuses,
            **extra}


def scaling(task: str, victim_run: Path, limit: int, log) -> dict:
    """rows/s of `ptp-augment build --mode adversarial` on `limit` train rows at 1 and 2 processes."""
    out = {}
    for procs in (1, 2):
        seconds, _, threads = timed_build(task, procs, ["--victim", str(victim_run), "--limit", str(limit),
                                                        "--max-change", "1.0"])
        out[f"{procs}_process"] = {"seconds": round(seconds, 1), "rows_per_s": round(limit / seconds, 3),
                                   "threads_per_process": threads}
        log(f"scaling: {procs} process(es): {limit} rows in {seconds:.1f} s")
    out["speedup_2_over_1"] = round(out["1_process"]["seconds"] / out["2_process"]["seconds"], 2)
    out["note"] = "wall time of the whole command (victim load, WordNet, the corpus save included)"
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--rows", type=int, default=None, help="[default: 60; --smoke: 3]")
    parser.add_argument("--stock-rows", type=int, default=None, help="[default: 20; --smoke: 1]")
    parser.add_argument("--batch-sizes", default="64")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--scaling", type=int, default=0, help="train rows for the 1- vs 2-process build (0: skip)")
    parser.add_argument("--victim", default=None, help="a CLS-pooled ptp-train run (seed-N folder) on --task")
    parser.add_argument("--name", default="adversarial_vs_textattack")
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.rows = args.rows or (3 if args.smoke else 60)
    args.stock_rows = args.stock_rows or (1 if args.smoke else 20)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731

    from datasets import Dataset

    from augment.attack.run import attack_split, status_counts
    from augment.attack.spec import AttackSpec
    from augment.common.sources import load_task_data
    from augment.common.tasks import get_task
    from pipelines.robustness import textattack_attack
    from training.victim import load_victim

    task = get_task(args.task)
    data, _ = load_task_data(args.task, log=lambda *_: None)
    rows = data["validation"].select(range(args.rows)).to_list()
    if args.victim:
        run = Path(args.victim)
    elif args.smoke:
        run = smoke_victim(args.task, out / "victim", smoke_encoder("bert", out / "tiny-bert"), pooling="cls")
    else:
        run = cls_victim(args.task, log)
    victim = load_victim(run, args.task, args.device)
    if victim.spec.pooling != "cls":
        raise SystemExit(f"--victim {run}: pooled by {victim.spec.pooling}; the stock arm needs a CLS-pooled run")
    gpu = victim.device.type == "cuda"
    precision = args.precision if args.precision != "auto" else ("bf16" if gpu else "int8")
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    result = {"task": args.task, "rows": len(rows), "stock_rows": min(args.stock_rows, len(rows)), "victim": str(run),
              "victim_validation_accuracy": json.loads((run / "metrics.json").read_text())["best"]["accuracy"],
              "device": str(victim.device)}

    log(f"1/4 stock Attacker + HuggingFaceModelWrapper on {result['stock_rows']} rows")
    stock = stock_attack(task, rows[:args.stock_rows], run, victim.device)
    result["textattack_stock"] = arm(stock["seconds"], result["stock_rows"], stock["queries"], stock["statuses"],
                                     padding=f"max_length ({stock['max_length']})")

    log(f"2/4 Attacker + this project's victim on {len(rows)} rows")
    ta = textattack_attack(task, rows, victim)
    result["textattack_attacker"] = arm(ta["seconds"], len(rows), ta["queries"], ta["statuses"])

    def search(victim_, batch_size, precision_="fp32", order="", recipe="pwws"):
        spec = AttackSpec(recipe=recipe, max_change=1.0, batch_size=batch_size,
                          search_precision=precision_, word_order=order)
        work = Path(tempfile.mkdtemp(prefix="ptp-bench-"))
        start = time.perf_counter()
        records, summary = attack_split(task, Dataset.from_list(rows), victim_, spec, work / "w",
                                            log=lambda *_: None, progress=False)
        seconds = time.perf_counter() - start
        shutil.rmtree(work, ignore_errors=True)
        queries = sum(r["attack"]["queries"] for r in records)
        first = status_counts(records[:args.stock_rows])
        return seconds, arm(seconds, len(rows), queries, summary["statuses"], batch_size=batch_size,
                            precision=precision_, word_order=spec.order, victim_calls=summary["victim_calls"],
                            success_rate_on_stock_rows=rate(first))

    log("3/4 this project's search (and its forward bound)")
    runs = []
    for i, size in enumerate(sizes):
        recording = Recording(victim)
        seconds, record = search(recording if i == 0 else victim, size)
        runs.append(record)
        if i == 0:
            victim.predict_proba(recording.batches[0])  # warm
            start = time.perf_counter()
            for batch in recording.batches:
                victim.predict_proba(batch)
            bound = time.perf_counter() - start
            sent = sum(map(len, recording.batches))
            result["forward_bound"] = {
                "batch_size": size, "batches": len(recording.batches), "sequences": sent,
                "seconds": round(bound, 1), "sequences_per_s": round(sent / bound, 1),
                "search_time_in_forward": ratio(bound, seconds, 3),
                "note": "the search's own victim batches replayed on the bare victim; queries it answered "
                        "from its cache never reach the victim"}
    result["ptp_augment"] = runs
    if precision != "fp32":
        log(f"4/4 this project's search at {precision}, successes confirmed in fp32")
        low = [search(victim, size, precision)[1] for size in sizes]
        for record, fp32 in zip(low, runs):
            record["speedup_over_fp32"] = ratio(fp32["seconds"], record["seconds"], 2)
        result["ptp_augment_low_precision"] = low
    log("4/4 this project's search, words ordered by leave-one-out alone (fewer queries)")
    unk = search(victim, sizes[0], order="unk")[1]
    unk["speedup_over_weighted_saliency"] = ratio(runs[0]["seconds"], unk["seconds"], 2)
    result["ptp_augment_unk_order"] = unk
    log("5/5 a2t-wordnet-minilm: the Attacker with the recipe's parts, and this project's search")
    ta_a2t = textattack_attack(task, rows, victim, "a2t-wordnet-minilm")
    a2t = search(victim, sizes[0], recipe="a2t-wordnet-minilm")[1]
    ta_a2t = arm(ta_a2t["seconds"], len(rows), ta_a2t["queries"], ta_a2t["statuses"])
    result["a2t"] = {"textattack_attacker": ta_a2t, "ptp_augment": a2t,
                     "speedup_over_attacker": ratio(a2t["examples_per_s"], ta_a2t["examples_per_s"], 2),
                     "rows_per_s_over_pwws": ratio(a2t["examples_per_s"], runs[0]["examples_per_s"], 2)}
    best = max(runs + result.get("ptp_augment_low_precision", []), key=lambda r: r["examples_per_s"])
    result["speedup_over_attacker"] = ratio(best["examples_per_s"], result["textattack_attacker"]["examples_per_s"], 2)
    result["speedup_over_stock"] = ratio(best["examples_per_s"], result["textattack_stock"]["examples_per_s"], 2)
    result["best"] = {"batch_size": best["batch_size"], "precision": best["precision"]}
    result["success_rate_gap_vs_attacker_points"] = round(runs[0]["success_rate"] -
                                                          result["textattack_attacker"]["success_rate"], 2)
    if args.scaling:
        result["scaling"] = scaling(args.task, run, args.scaling, log)
    write(args.name, result, out, args.smoke)
    print(f"\nexamples/s: stock {result['textattack_stock']['examples_per_s']}, "
          f"Attacker {result['textattack_attacker']['examples_per_s']}, this project "
          + ", ".join(f"{r['examples_per_s']} ({r['precision']}, batch {r['batch_size']})"
                      for r in runs + result.get("ptp_augment_low_precision", []) + [unk])
          + f"; best {result['speedup_over_attacker']}x the Attacker, {result['speedup_over_stock']}x stock")


if __name__ == "__main__":
    main()
