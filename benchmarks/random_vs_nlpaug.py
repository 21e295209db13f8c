"""Random mode vs a plain per-example nlpaug loop: same rows, same ops, one run.

Usage: python benchmarks/random_vs_nlpaug.py [--rows 2000] [--num-proc 2] [--rounds 3] [--out DIR]
       python benchmarks/random_vs_nlpaug.py --smoke --out DIR   (20 rows, 1 round)

The anchor is what a user would write: one SynonymAug and one RandomWordAug (aug_p = rate), and a
loop calling `.augment` on each perturbable field of each row. Its tagger is nlpaug's own seam,
`nltk.pos_tag`, on the same perceptron model ptp-augment resolves (NLTK's data or textblob-
aptagger's model: `tagger` in the JSON names both sides'; where none resolves, both get the
WordNet-frequency fallback). ptp-augment's time is the perturbation step (`perturb_split_random`,
the call the CLI makes), not loading or saving.

Each timed pass runs in a fresh process, as a one-off build does: it loads its side (the tagger's
model, WordNet, the augmenters; for ptp-augment `prepare`, whose time is reported beside), runs
once on 20 other rows, then times the rows, its caches of the rows' words cold. (In one long-lived
process the anchor's second pass would find NLTK's synsets already parsed.) The sides take turns
over --rounds; every round is kept. `speedup` is the median over rounds of the paired ratio (the two
passes of a round run back to back, so a shared machine's load drifts out of it);
`speedup_fastest` divides each side's fastest pass.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_output_options, output_folder, write  # noqa: E402


def one_pass(side: str, rows: int, rate: float, num_proc: int) -> dict:
    """One side's timed pass in this (fresh) process."""
    from augment.build import perturb_split_random
    from augment.common.resources import ensure_resources, use_perceptron_tagger, wordnet_pos_tag
    from augment.common.sources import load_task_data
    from augment.common.tasks import get_task
    from augment.random_ops import RandomSpec, prepare

    ensure_resources()
    task = get_task("wic")
    data, _ = load_task_data("wic", "wordnet", log=lambda *_: None)
    timed, warm = data["train"].select(range(rows)), data["train"].select(range(rows, rows + 20))
    start = time.perf_counter()
    if side == "nlpaug":
        import nlpaug.augmenter.word as naw
        import nlpaug.model.word_dict as nmw
        from nltk.corpus import wordnet

        if not use_perceptron_tagger():
            nmw.WordNet.pos_tag = staticmethod(wordnet_pos_tag)
        wordnet.ensure_loaded()
        synonym = naw.SynonymAug(aug_src="wordnet", aug_p=rate)
        delete = naw.RandomWordAug(action="delete", aug_p=rate)

        def run(split):
            random.seed(0)
            np.random.seed(0)
            for row in split.to_list():
                for field in task.perturbable:
                    delete.augment(synonym.augment(row[field])[0])
    else:
        spec = RandomSpec(ops=("synonym", "delete"), rate=rate)
        prepare(spec)

        def run(split, processes=1):
            perturb_split_random(task, split, spec, seed=0, num_proc=processes)
    loaded = time.perf_counter() - start
    run(warm)
    start = time.perf_counter()
    run(timed) if side == "nlpaug" else run(timed, num_proc)
    return {"seconds": round(time.perf_counter() - start, 3), "load_seconds": round(loaded, 3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="[default: 2000; --smoke: 20]")
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=None, help="[default: 3; --smoke: 1]")
    parser.add_argument("--side", choices=("nlpaug", "ptp"), help=argparse.SUPPRESS)  # one timed pass (internal)
    add_output_options(parser)
    args = parser.parse_args()
    args.rows = args.rows or (20 if args.smoke else 2000)
    if args.side:
        print(json.dumps(one_pass(args.side, args.rows, args.rate, args.num_proc)))
        return
    out = output_folder(args)
    args.rounds = args.rounds or (1 if args.smoke else 3)

    from augment.common import wordnet_lemmas
    from augment.common.resources import ensure_resources, pos_tagger, use_perceptron_tagger

    resources = ensure_resources()
    table_built = None
    if not wordnet_lemmas.table_path().is_file():  # the first build on this machine makes the table
        start = time.perf_counter()
        wordnet_lemmas.lemma_table()
        table_built = round(time.perf_counter() - start, 2)

    def fresh(side):
        done = subprocess.run([sys.executable, __file__, "--side", side, "--rows", str(args.rows), "--rate",
                               str(args.rate), "--num-proc", str(args.num_proc)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the {side} pass failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    rounds = []
    for _ in range(args.rounds):
        anchor, ours = fresh("nlpaug"), fresh("ptp")
        rounds.append({"nlpaug_loop_seconds": anchor["seconds"], "ptp_augment_seconds": ours["seconds"],
                       "nlpaug_load_seconds": anchor["load_seconds"], "ptp_prepare_seconds": ours["load_seconds"]})
    anchor_best = min(r["nlpaug_loop_seconds"] for r in rounds)
    ours_best = min(r["ptp_augment_seconds"] for r in rounds)
    ours_tagger = type(pos_tagger()).__name__ if use_perceptron_tagger() else "wordnet_pos_tag (fallback)"
    write("random_vs_nlpaug", {
        "rows": args.rows, "fields_per_row": 2, "ops": ["synonym", "delete"], "rate": args.rate,
        "num_proc": args.num_proc, "rounds": args.rounds,
        "tagger": {"model": resources[2].detail,
                   "nlpaug_loop": "nltk.pos_tag (nlpaug's own seam)" if use_perceptron_tagger() else "wordnet_pos_tag",
                   "ptp_augment": f"augment.common.perceptron.{ours_tagger} (the same tags as nltk.pos_tag)"
                   if use_perceptron_tagger() else ours_tagger},
        "nlpaug_loop_seconds": anchor_best, "nlpaug_loop_rows_per_s": round(args.rows / anchor_best, 1),
        "ptp_augment_seconds": ours_best, "ptp_augment_rows_per_s": round(args.rows / ours_best, 1),
        "speedup": round(statistics.median(r["nlpaug_loop_seconds"] / r["ptp_augment_seconds"] for r in rounds), 2),
        "speedup_fastest": round(anchor_best / ours_best, 2), "by_round": rounds,
        "wordnet_lemma_table_build_seconds": table_built,
        "note": "each pass in a fresh process after 20 warm-up rows; load/prepare: models, WordNet, augmenters "
                "(ptp-augment's WordNet lemma table is built once per machine: null when it was already cached)",
    }, out, args.smoke)


if __name__ == "__main__":
    main()
