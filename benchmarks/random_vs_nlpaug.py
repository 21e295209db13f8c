"""Random mode vs a plain per-example nlpaug loop: same rows, same ops, one run.

Usage: python benchmarks/random_vs_nlpaug.py [--rows 1000] [--num-proc 2] [--out DIR]
       python benchmarks/random_vs_nlpaug.py --smoke --out DIR   (20 rows)

The anchor is what a user would write: one SynonymAug and one RandomWordAug (aug_p = rate), and a
loop calling `.augment` on each perturbable field of each row. Offline, nlpaug's POS tagger (NLTK's
perceptron) is missing, so the anchor gets the same WordNet-frequency tagger as ptp-augment.
ptp-augment's time covers the perturbation step only (`perturb_split_random`, the same call the
CLI makes), not loading or saving.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_output_options, output_folder, write  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="[default: 1000; --smoke: 20]")
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0.1)
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.rows = args.rows or (20 if args.smoke else 1000)

    from augment.build import perturb_split_random
    from augment.random_ops import RandomSpec
    from augment.common.resources import ensure_resources, use_perceptron_tagger, wordnet_pos_tag
    from augment.common.sources import load_task_data
    from augment.common.tasks import get_task

    ensure_resources()
    task = get_task("wic")
    data, _ = load_task_data("wic", "wordnet", log=lambda *_: None)
    train = data["train"].select(range(args.rows))
    rows = train.to_list()

    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    if not use_perceptron_tagger():
        nmw.WordNet.pos_tag = staticmethod(wordnet_pos_tag)
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    synonym = naw.SynonymAug(aug_src="wordnet", aug_p=args.rate)
    delete = naw.RandomWordAug(action="delete", aug_p=args.rate)
    random.seed(0)
    np.random.seed(0)
    start = time.perf_counter()
    for row in rows:
        for field in task.perturbable:
            delete.augment(synonym.augment(row[field])[0])
    anchor = time.perf_counter() - start

    spec = RandomSpec(ops=("synonym", "delete"), rate=args.rate)
    start = time.perf_counter()
    perturb_split_random(task, train, spec, seed=0, num_proc=args.num_proc)
    ours = time.perf_counter() - start

    write("random_vs_nlpaug", {
        "rows": args.rows, "fields_per_row": len(task.perturbable), "ops": ["synonym", "delete"], "rate": args.rate,
        "nlpaug_loop_seconds": round(anchor, 2), "nlpaug_loop_rows_per_s": round(args.rows / anchor, 1),
        "ptp_augment_seconds": round(ours, 2), "ptp_augment_rows_per_s": round(args.rows / ours, 1),
        "num_proc": args.num_proc, "speedup": round(anchor / ours, 2),
    }, out, args.smoke)


if __name__ == "__main__":
    main()
