"""Adversarial mode vs TextAttack's own Attacker running PWWS: same victim, same examples, one run.

Usage: python benchmarks/adversarial_vs_textattack.py [--rows 60] [--victim RUN] [--batch-size 64]

Both searches see the same space: TextAttack's stock PWWSRen2019 recipe (WordSwapWordNet,
RepeatModification, StopwordModification, greedy weighted-saliency order) plus, for both, the
protected-span constraint (WiC's target word is masked as a placeholder word) and no max-change
limit (the stock recipe has none). The victim is the default vanilla prefix-tuned MiniLM for WiC
unless --victim is given. The forward bound is the bare victim's throughput on batches of the same
size (queries/s).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import write  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--victim", default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    from augment import adversarial as adv
    from augment.sources import load_task_data
    from augment.tasks import get_task
    from training.victim import load_victim, resolve_victim

    task = get_task("wic")
    data, _ = load_task_data("wic", "wordnet", log=lambda *_: None)
    rows = data["validation"].select(range(args.rows)).to_list()
    folder, _ = resolve_victim(args.victim, "wic")
    victim = load_victim(folder, "wic")
    spec = adv.AttackSpec(max_change=1.0, batch_size=args.batch_size)

    # --- the forward bound: bare victim queries/s at this batch size
    sample = (rows * (2 * args.batch_size // len(rows) + 1))[:2 * args.batch_size]
    victim.predict_proba(sample[:8])
    start = time.perf_counter()
    for i in range(0, len(sample), args.batch_size):
        victim.predict_proba(sample[i:i + args.batch_size])
    bound_qps = len(sample) / (time.perf_counter() - start)

    # --- TextAttack's Attacker (stock PWWSRen2019 + the protected-span constraint)
    from pipelines.robustness import textattack_attack

    ta = textattack_attack(task, rows, victim)
    ta_seconds, ta_queries = ta["seconds"], ta["queries"]
    ta_success, ta_attacked = ta["statuses"]["successful"], ta["statuses"]["successful"] + ta["statuses"]["failed"]

    # --- ptp-augment's batched search
    from datasets import Dataset

    start = time.perf_counter()
    ours, summary = adv.attack_split(task, Dataset.from_list(rows), victim, spec,
                                     Path("/tmp") / f"ptp-bench-{time.time_ns()}", log=lambda *_: None,
                                     progress=False)
    ours_seconds = time.perf_counter() - start
    ours_queries = sum(r["attack"]["queries"] for r in ours)

    write("adversarial_vs_textattack", {
        "rows": len(rows), "victim": str(folder), "batch_size": args.batch_size,
        "textattack": {"seconds": round(ta_seconds, 1), "examples_per_s": round(len(rows) / ta_seconds, 3),
                       "queries": ta_queries, "queries_per_s": round(ta_queries / ta_seconds, 1),
                       "success_rate": round(100 * ta_success / max(ta_attacked, 1), 2),
                       "statuses": ta["statuses"]},
        "ptp_augment": {"seconds": round(ours_seconds, 1), "examples_per_s": round(len(rows) / ours_seconds, 3),
                        "queries": ours_queries, "queries_per_s": round(ours_queries / ours_seconds, 1),
                        "success_rate": summary["success_rate"], "statuses": summary["statuses"],
                        "victim_calls": summary["victim_calls"]},
        "forward_bound_queries_per_s": round(bound_qps, 1),
        "speedup_examples_per_s": round(ta_seconds / ours_seconds, 2),
        "ptp_queries_per_s_over_bound": round(ours_queries / ours_seconds / bound_qps, 3),
        "success_rate_gap_points": round(summary["success_rate"] - 100 * ta_success / max(ta_attacked, 1), 2),
    })


if __name__ == "__main__":
    main()
