"""An adversarial build's run: every row of a split attacked in checkpointed chunks (a killed
build resumes where it stopped, no row lost or repeated), optionally sharded across processes,
and the results adapted into a corpus's pair rows."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..common.atomic import replace_file
from ..common.errors import PTPError
from ..common.tasks import Task
from ..shards import Shard
from .recipes import parts
from .search import QueryCache, attack_batch, lowered
from .spec import STATUSES, AttackSpec


def read_chunks(work: Path) -> dict[int, dict]:
    """Every attacked row checkpointed in `work` (chunks of any chunk size, from any shard)."""
    done = {}
    for path in sorted(work.glob("chunk-*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            done[record["row"]] = record
    return done


def attack_split(task: Task, split, victim, spec: AttackSpec, work: Path, log=print, progress=True,
                 shard: Shard | None = None):
    """Attack every row of `split`, checkpointing chunks in `work`; returns (rows, summary).

    Sharded (torchrun / accelerate launch: RANK, WORLD_SIZE), the rows are cut into a fixed grid
    of chunks and shard r attacks chunks r, r + N, r + 2N, ...; shard 0 then waits for every row
    in `work` (a shared folder across machines) and returns them all, the others return
    (None, None). A row's result does not depend on its chunk, batch or shard, so the corpus is
    byte-identical to a one-process build."""
    from tqdm.auto import tqdm

    shard = shard or Shard.from_env()
    recipe_parts = parts(spec.max_change, spec.recipe, spec.min_similarity)
    cache = QueryCache(lowered(victim, spec.search_precision), spec.batch_size)
    work.mkdir(parents=True, exist_ok=True)
    n = len(split)
    # A chunk's rows are searched in lock step, so a chunk holds at least a batch of them (large
    # GPU batches need many examples at once). PTP_CHUNK_ROWS overrides the checkpoint
    # granularity; neither changes the output.
    chunk_rows = int(os.environ.get("PTP_CHUNK_ROWS", max(spec.chunk_rows, spec.batch_size)))
    done = read_chunks(work)
    if done:
        log(f"resuming: {len(done)} of {n} rows already attacked ({work})")
    grid = [range(k, min(k + chunk_rows, n)) for k in range(0, n, chunk_rows)]
    chunks = [[i for i in cell if i not in done] for cell in grid[shard.rank::shard.world]]
    counts = status_counts(done.values())
    mine = sum(map(len, chunks))
    bar = tqdm(total=len(done) + mine if shard.world > 1 else n, initial=len(done),
               desc=f"attacking {task.name} ({spec.recipe}){shard.label}", disable=not progress,
               mininterval=0.1 if sys.stderr.isatty() else 30)
    for rows in filter(None, chunks):
        results = attack_batch(task, [split[i] for i in rows], rows, victim, spec, recipe_parts, cache)
        name = f"chunk-{rows[0]:08d}-{rows[-1]:08d}.jsonl"
        replace_file(work / name, "".join(json.dumps(r) + "\n" for r in results))  # a chunk is all there or not at all
        for r in results:
            done[r["row"]] = r
            counts[r["attack"]["status"]] += 1
        bar.update(len(rows))
        bar.set_postfix(counts, refresh=False)
    bar.close()
    if shard.world > 1:
        if not shard.main:
            log(f"shard {shard.rank}: attacked its {mine} rows; shard 0 writes the corpus")
            return None, None
        done = wait_for_rows(work, n, log)
    results = [done[i] for i in range(n)]
    counts = status_counts(results)  # the bar's counts are this shard's alone
    attacked = [r for r in results if r["attack"]["status"] != "skipped"]
    summary = {
        "success_rate": round(100 * counts["successful"] / max(len(attacked), 1), 2),
        "statuses": counts,
        "mean_queries": round(float(np.mean([r["attack"]["queries"] for r in attacked])) if attacked else 0.0, 2),
        "mean_words_changed": round(float(np.mean([r["attack"]["words_changed"] for r in results
                                                   if r["attack"]["status"] == "successful"] or [0])), 3),
        "victim_calls": cache.model_calls,
    }
    return results, summary


def status_counts(records) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for record in records:
        counts[record["attack"]["status"]] += 1
    return counts


def wait_for_rows(work: Path, n: int, log, poll: float = 2.0) -> dict[int, dict]:
    """Shard 0: every row, once the other shards have checkpointed theirs. (A shard that fails
    takes the whole torchrun job down with it, so this does not wait for ever.)"""
    done, said = read_chunks(work), False
    while len(done) < n:
        if not said:
            log(f"waiting for {n - len(done)} rows from the other shards ({work})")
            said = True
        time.sleep(poll)
        done = read_chunks(work)
    return done


def attack_features(task: Task):
    from datasets import Value

    from ..build import pair_features

    return pair_features(task, extra={"attack": {
        "status": Value("string"), "queries": Value("int32"), "words_changed": Value("int32"),
        "label_before": Value("int32"), "confidence_before": Value("float32"),
        "label_after": Value("int32"), "confidence_after": Value("float32")}})


def adversarial_splitter(spec: AttackSpec, load_victim, log=print):
    """The search over a split (AdversarialPerturber.pairs): attack the train split with the victim.

    Skipped (already misclassified) and failed rows are kept as pairs with their best
    perturbation (unchanged for skipped rows) unless `keep_failed` is off, which keeps
    successful attacks only.
    """

    def perturb_split(task: Task, train, seed: int, work: Path):
        from datasets import Dataset

        victim = load_victim()
        results, summary = attack_split(task, train, victim, spec, work, log=log)
        if results is None:  # another shard writes the corpus
            return None
        rows = []
        for r in results:
            if not spec.keep_failed and r["attack"]["status"] != "successful":
                continue
            ex = train[r["row"]]
            words = r["attack"]["words_changed"]
            rows.append({**ex, "perturbed": r["perturbed"], "attack": r["attack"],
                         "perturbation": {"ops": [spec.recipe], "words_changed": words, "changed": words > 0,
                                          "attempts": 1, "variant": 0, "row": r["row"]}})
        if not rows:
            raise PTPError("no successful attacks to keep (--drop-failed); keep failed rows or attack more rows")
        log(f"attack: success rate {summary['success_rate']}% of attacked rows, {summary['statuses']}, "
            f"mean queries {summary['mean_queries']}")
        return Dataset.from_list(rows, features=attack_features(task)), summary

    return perturb_split

