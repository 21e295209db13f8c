"""Adversarial mode vs TextAttack's own Attacker running PWWS: same victim, same examples, one run.

Usage: python benchmarks/adversarial_vs_textattack.py [--rows 60] [--victim RUN] [--batch-size 64]

Both searches see the same space: TextAttack's stock PWWSRen2019 recipe (WordSwapWordNet,
RepeatModification, StopwordModification, greedy weighted-saliency order) plus, for both, the
protected-span constraint (WiC's target word is masked as a placeholder word) and no max-change
limit (the stock recipe has none). The victim is the default vanilla prefix-tuned MiniLM for WiC
unless --victim is given.

The forward bound replays the very batches the search sent to the victim (same sequences, same
padding, same batch sizes), timed on the bare victim after the search: the time the search could
not go below with this victim. `ptp_search_time_in_forward` is that time over the search's.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import write  # noqa: E402


class Recording:
    """The victim, recording every batch the search sends it."""

    def __init__(self, victim):
        self.victim, self.batches = victim, []
        self.unk_token = victim.unk_token
        if hasattr(victim, "token_ids"):
            self.token_ids = victim.token_ids

    def predict_proba(self, examples):
        self.batches.append(list(examples))
        return self.victim.predict_proba(examples)


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

    # --- TextAttack's Attacker (stock PWWSRen2019 + the protected-span constraint)
    from pipelines.robustness import textattack_attack

    ta = textattack_attack(task, rows, victim)
    ta_seconds, ta_queries = ta["seconds"], ta["queries"]
    ta_success, ta_attacked = ta["statuses"]["successful"], ta["statuses"]["successful"] + ta["statuses"]["failed"]

    # --- ptp-augment's batched search
    from datasets import Dataset

    recording = Recording(victim)
    start = time.perf_counter()
    ours, summary = adv.attack_split(task, Dataset.from_list(rows), recording, spec,
                                     Path("/tmp") / f"ptp-bench-{time.time_ns()}", log=lambda *_: None,
                                     progress=False)
    ours_seconds = time.perf_counter() - start
    ours_queries = sum(r["attack"]["queries"] for r in ours)

    # --- the forward bound: the same batches again, on the bare victim
    victim.predict_proba(recording.batches[0])  # warm
    start = time.perf_counter()
    for batch in recording.batches:
        victim.predict_proba(batch)
    bound_seconds = time.perf_counter() - start
    sent = sum(map(len, recording.batches))

    # --- the same search with the victim's Linear layers dynamically quantised to int8 (CPU),
    # each success re-checked by the fp32 victim: what a cheaper search costs in success rate
    import copy

    import numpy as np
    import torch

    int8 = copy.copy(victim)
    int8.model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(victim.model), {torch.nn.Linear},
                                                        dtype=torch.qint8)
    start = time.perf_counter()
    q_rows, q_summary = adv.attack_split(task, Dataset.from_list(rows), int8, spec,
                                         Path("/tmp") / f"ptp-bench-int8-{time.time_ns()}", log=lambda *_: None,
                                         progress=False)
    q_seconds = time.perf_counter() - start
    q_success = [r for r in q_rows if r["attack"]["status"] == "successful"]
    confirmed = sum(int(np.argmax(victim.predict_proba([{**rows[r["row"]], **r["perturbed"]}])[0]))
                    != rows[r["row"]]["label"] for r in q_success)
    q_attacked = q_summary["statuses"]["successful"] + q_summary["statuses"]["failed"]

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
        "forward_bound": {"batches": len(recording.batches), "sequences": sent, "seconds": round(bound_seconds, 1),
                          "sequences_per_s": round(sent / bound_seconds, 1),
                          "note": "the search's own victim batches replayed on the bare victim; queries the "
                                  "search answered from its cache never reach the victim"},
        "ptp_augment_int8_victim": {
            "seconds": round(q_seconds, 1), "examples_per_s": round(len(rows) / q_seconds, 3),
            "speedup_over_fp32_search": round(ours_seconds / q_seconds, 2),
            "success_rate": q_summary["success_rate"], "statuses": q_summary["statuses"],
            "successes_confirmed_in_fp32": confirmed,
            "success_rate_fp32_checked": round(100 * confirmed / max(q_attacked, 1), 2)},
        "speedup_examples_per_s": round(ta_seconds / ours_seconds, 2),
        "ptp_search_time_in_forward": round(bound_seconds / ours_seconds, 3),
        "success_rate_gap_points": round(summary["success_rate"] - 100 * ta_success / max(ta_attacked, 1), 2),
    })


if __name__ == "__main__":
    main()
