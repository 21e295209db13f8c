"""Wall time of `ptp-augment build --mode adversarial` as typed, on the first N train rows, and the
projection to the whole train split; once per search setting.

Usage: python benchmarks/build_wall_time.py [--task wic] [--limit 512] [--procs 2] [--victim RUN]
           [--setting ""] [--setting "--word-order unk"] ... [--out DIR]
       python benchmarks/build_wall_time.py --smoke --out DIR
           (4 rows, the default search, one process, a tiny random BERT victim trained on 16 rows)

Each setting is extra build options (default: the product's default search, then --word-order unk).
With --procs > 1 the build runs under torchrun, one thread per process. The projection scales the
measured time (victim loading and the corpus save included, so it errs long) to all train rows.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (add_output_options, output_folder, smoke_encoder, smoke_victim,  # noqa: E402
                               timed_build, write)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="wic")
    parser.add_argument("--limit", type=int, default=None, help="[default: 512; --smoke: 4]")
    parser.add_argument("--procs", type=int, default=None, help="[default: 2; --smoke: 1]")
    parser.add_argument("--victim", default=None, help="[default: the task's default victim, trained if missing]")
    parser.add_argument("--setting", action="append", default=None)
    add_output_options(parser)
    args = parser.parse_args()
    out = output_folder(args)
    args.limit = args.limit or (4 if args.smoke else 512)
    args.procs = args.procs or (1 if args.smoke else 2)
    settings = args.setting or ([""] if args.smoke else ["", "--word-order unk"])
    if args.smoke and not args.victim:
        args.victim = str(smoke_victim(args.task, out / "victim", smoke_encoder("bert", out / "tiny-bert")))

    from augment.common.sources import load_task_data

    total = len(load_task_data(args.task, log=lambda *_: None)[0]["train"])
    results = []
    for setting in settings:
        options = ["--limit", str(args.limit), *shlex.split(setting)] + (["--victim", args.victim] if args.victim else [])
        seconds, stdout, threads = timed_build(args.task, args.procs, options, port=29571)
        summary = re.findall(r"attack: success rate ([\d.]+)% .*mean queries ([\d.]+)", stdout)
        rate, queries = map(float, summary[-1])
        results.append({"setting": setting or "(default: PWWS, weighted saliency, fp32)", "rows": args.limit,
                        "seconds": round(seconds, 1), "rows_per_s": round(args.limit / seconds, 3),
                        "success_rate": rate, "mean_queries": queries,
                        "projected_full_minutes": round(total * seconds / args.limit / 60, 1)})
        print(results[-1], flush=True)
    write(f"build_wall_time_{args.task}", {"task": args.task, "train_rows": total, "processes": args.procs,
                                            "threads_per_process": threads, "settings": results}, out, args.smoke)


if __name__ == "__main__":
    main()
