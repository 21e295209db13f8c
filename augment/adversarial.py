"""Adversarial perturbations: TextAttack recipes built from TextAttack's parts, batched across examples.

TextAttack's own `Attacker` runs one example at a time and sends the victim a few dozen texts per
call; on a CPU most of its time goes to bookkeeping around those small calls. This module keeps
TextAttack's four parts — goal (untargeted: the victim's prediction leaves the gold label),
constraints (RepeatModification, StopwordModification, the recipe's own, MaxWordsPerturbed, and
protected spans as one more pre-transformation constraint), transformation and search (greedy
over word importance, as `GreedyWordSwapWIR`) — but runs the search for many examples in lock
step: every round's queries, from all examples, go to the victim as one batch, and repeated
texts are answered from a cache. Recipes (`RECIPES`): PWWS (Ren et al. 2019: WordNet synonyms,
weighted-saliency order, `GreedyWordSwapWIR("weighted-saliency")`) and DeepWordBug (Gao et al.
2018 as TextAttack's DeepWordBugGao2018: adjacent swap, substitution, deletion and insertion of a
character, Levenshtein distance <= 30, leave-one-out "unk" order).

Departures from TextAttack's recipes, each for determinism (the same rows give a byte-identical
corpus whatever the batch size, chunk size or resume point): candidate words are sorted (WordNet
synonyms come from a set) and ties keep the first candidate; a swap must lower the gold
probability by at least MIN_GAIN (1e-4), not by any float amount; a swap the victim's tokenizer
cannot see (a case variant under an uncased model) is no candidate; and the recorded confidences
come from scoring each final text alone; DeepWordBug's random character edits are seeded by row
and word position.

The victim is any object with `predict_proba(examples) -> probabilities` and `unk_token`; the trainer
provides one (training.victim). Protected spans (WiC's word, WSC's spans) are masked as
placeholder words that no transformation may touch, as in random mode.

Rows are checkpointed in chunks under a work folder beside the output, so a killed build resumes
where it stopped, with no row lost or repeated.

Cheaper searches (measured in docs/benchmarks.md): `search_precision` bf16 or int8 queries a
lower-precision copy of the victim during the search while the fp32 victim picks the rows to
attack and confirms every success; `word_order` "unk" skips PWWS's swap-gain queries.
"""
from __future__ import annotations

import dataclasses
import contextlib
import json
import os
import sys
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .common.errors import PTPError
from .shards import Shard
from .random_ops import PLACEHOLDER, mask, unmask, words_changed
from .common.spans import protected_ranges, rewrite_spans
from .common.tasks import Task, gold

# Recipes built here from TextAttack's parts, each searched greedily over word importance, in
# batches: PWWS (Ren et al. 2019: WordNet synonyms, weighted-saliency order) and DeepWordBug (Gao
# et al. 2018, TextAttack's DeepWordBugGao2018: four character edits, leave-one-out "unk" order,
# Levenshtein distance <= 30).
RECIPES = ("pwws", "deepwordbug")
# Recipes TextAttack ships that this project does not offer, and why.
NEEDS = {"textfooler": "counter-fitted word embeddings and the Universal Sentence Encoder (TF-Hub)",
         "bae": "a BERT masked language model from the Hugging Face hub",
         "bert-attack": "a BERT masked language model from the Hugging Face hub",
         "a2t": "counter-fitted word embeddings and a sentence-BERT model from the hub",
         "textbugger": "GloVe embeddings and the Universal Sentence Encoder (TF-Hub)",
         "pso": "HowNet sememes (OpenHowNet download)",
         "alzantot": "the Google 1B language model and counter-fitted embeddings",
         "checklist": "a flair NER model from the hub for its location and name swaps",
         "pruthi": "no download, but a beam search over every position that is not batched here yet "
                   "(its character edits are DeepWordBug's: try --recipe deepwordbug)"}
STATUSES = ("successful", "failed", "skipped")
# A swap counts only if it lowers the gold output's probability by at least this much. Smaller
# changes are float noise: padding a text to its batch's longest moves the victim's sums in the
# last digits, so accepting them would make the corpus depend on batch and chunk composition.
MIN_GAIN = 1e-4
# The victim's precision during the search. A cheaper forward (bf16 on a GPU, int8 on a CPU) ranks
# words and proposes swaps; the fp32 victim decides which examples are attacked and every success.
PRECISIONS = ("fp32", "bf16", "int8")
# How the greedy search orders words (TextAttack's GreedyWordSwapWIR methods), and each recipe's own.
WORD_ORDERS = ("weighted-saliency", "unk")
RECIPE_ORDER = {"pwws": "weighted-saliency", "deepwordbug": "unk"}


@dataclass(frozen=True)
class AttackSpec:
    recipe: str = dataclasses.field(default="pwws", metadata={
        "help": "adversarial: pwws (WordNet synonyms) | deepwordbug (character edits)"})
    query_budget: int | None = dataclasses.field(default=None, metadata={"help": "adversarial: max victim queries per example"})
    max_change: float = dataclasses.field(default=0.25, metadata={"help": "adversarial: max fraction of words changed"})
    keep_failed: bool = dataclasses.field(default=True, metadata={
        "off_flag": "drop-failed", "help": "adversarial: keep a failed attack's best perturbation, or drop the row"})
    victim: str = ""  # the victim's identity (path + weights digest): part of the fingerprint
    batch_size: int = dataclasses.field(default=64, metadata={"help": "adversarial: victim batch size"})
    word_order: str = dataclasses.field(default="", metadata={
        "help": "adversarial: how the search orders words: weighted-saliency (PWWS's: leave-one-out x best "
                "swap, many queries) | unk (leave-one-out alone, as TextAttack's GreedyWordSwapWIR('unk'); "
                "DeepWordBug's) [default: the recipe's own]"})
    search_precision: str = dataclasses.field(default="fp32", metadata={
        "help": "adversarial: the victim's precision while searching: fp32 | bf16 (GPUs) | int8 (CPU, "
                "dynamic quantisation); every success is confirmed by the fp32 victim"})
    chunk_rows: int = 64  # checkpoint every N rows

    def __post_init__(self):
        if self.recipe not in RECIPES:
            if self.recipe in NEEDS:
                raise PTPError(f"--recipe {self.recipe}: needs {NEEDS[self.recipe]}, which is not available "
                               f"here; use one of {', '.join(RECIPES)}")
            raise PTPError(f"unknown recipe '{self.recipe}': choose one of {', '.join(RECIPES)}")
        if not 0 < self.max_change <= 1:
            raise PTPError(f"--max-change {self.max_change}: must be a fraction of words in (0, 1]")
        if self.query_budget is not None and self.query_budget < 1:
            raise PTPError(f"--query-budget {self.query_budget}: must be at least 1")
        if self.batch_size < 1:
            raise PTPError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.word_order not in ("", *WORD_ORDERS):
            raise PTPError(f"--word-order {self.word_order}: choose one of {', '.join(WORD_ORDERS)}")
        if self.search_precision not in PRECISIONS:
            raise PTPError(f"--search-precision {self.search_precision}: choose one of {', '.join(PRECISIONS)}")

    @property
    def order(self) -> str:
        return self.word_order or RECIPE_ORDER[self.recipe]

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("chunk_rows")
        out.pop("word_order")
        if self.order != RECIPE_ORDER[self.recipe]:
            out["word_order"] = self.order  # the recipe's own order keeps older corpora's fingerprints
        if self.search_precision == "fp32":
            out.pop("search_precision")  # corpora built before the option keep their fingerprints
            out.pop("batch_size")  # speed only: does not change the output
        # At bf16 or int8 the scores carry more than MIN_GAIN of padding noise, so the batch
        # size does change the output: it stays in the fingerprint.
        return out


@contextlib.contextmanager
def textattack_offline():
    """Run TextAttack code after NLTK's resources resolve: its nltk.download calls (at import and
    in WordSwapWordNet()) are skipped when offline, where they could only fail noisily, and the
    environment variables its import rewrites are put back."""
    from .common.resources import host_reachable, cache_dir, ensure_resources

    ensure_resources()
    os.environ.setdefault("TA_CACHE_DIR", str(cache_dir() / "textattack"))
    import nltk

    real_download, environ = nltk.download, dict(os.environ)
    if not host_reachable():
        nltk.download = lambda *args, **kwargs: False
    try:
        yield
    finally:
        nltk.download = real_download
        # Importing textattack rewrites HF_HOME, XDG_CACHE_HOME, PYTORCH_TRANSFORMERS_CACHE and
        # more for the whole process (and its children); put the user's environment back.
        os.environ.clear()
        os.environ.update(environ)


def textattack_parts(max_change: float, recipe: str = "pwws"):
    """A recipe's transformation and constraints from TextAttack's parts (+ protected spans and
    --max-change, which every recipe here obeys)."""
    with textattack_offline():
        from textattack.constraints.overlap import LevenshteinEditDistance, MaxWordsPerturbed
        from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
        from textattack.constraints.pre_transformation_constraint import PreTransformationConstraint
        from textattack.transformations import (CompositeTransformation, WordSwapNeighboringCharacterSwap,
                                                WordSwapRandomCharacterDeletion, WordSwapRandomCharacterInsertion,
                                                WordSwapRandomCharacterSubstitution, WordSwapWordNet)

        if recipe == "pwws":
            transformation, extra = WordSwapWordNet(), []
        elif recipe == "deepwordbug":
            transformation = CompositeTransformation([
                WordSwapNeighboringCharacterSwap(), WordSwapRandomCharacterSubstitution(),
                WordSwapRandomCharacterDeletion(), WordSwapRandomCharacterInsertion()])
            extra = [LevenshteinEditDistance(30)]
        else:
            raise PTPError(f"unknown recipe '{recipe}': choose one of {', '.join(RECIPES)}")

    class ProtectedSpans(PreTransformationConstraint):
        """Placeholder words stand for protected spans: never modifiable."""

        def _get_modifiable_indices(self, current_text):
            return {i for i, w in enumerate(current_text.words) if not w.startswith(PLACEHOLDER)}

    pre = [RepeatModification(), StopwordModification(), ProtectedSpans()]
    post = extra + [MaxWordsPerturbed(max_percent=max_change)]
    return transformation, pre, post


@contextlib.contextmanager
def seeded(key: str):
    """TextAttack's character edits draw from `random` and `np.random`: seed both from the row and
    the word position, so an edit is a fixed function of them (resumes and batch sizes agree),
    and put the global states back afterwards."""
    import hashlib
    import random

    state, np_state = random.getstate(), np.random.get_state()
    random.seed(key)
    np.random.seed(int(hashlib.sha256(key.encode()).hexdigest()[:8], 16))
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


class QueryCache:
    """Batched, cached victim queries: text tuples -> probability vectors."""

    def __init__(self, victim, batch_size: int):
        self.victim, self.batch_size, self.memo = victim, batch_size, {}
        self.model_calls = 0

    def __call__(self, examples: list[dict], keys: list[tuple]) -> list[np.ndarray]:
        todo = list(OrderedDict.fromkeys(k for k in keys if k not in self.memo))
        by_key = dict(zip(keys, examples))
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            probs = self.victim.predict_proba([by_key[k] for k in chunk])
            self.model_calls += 1
            self.memo.update(zip(chunk, probs))
        return [self.memo[k] for k in keys]


class _State:
    """One example under attack."""

    def __init__(self, row: int, example: dict, attacked):
        self.row, self.example = row, example
        self.target = None  # the gold output (label, COPA choice, ReCoRD's first gold entity)
        self.original = attacked
        self.current = attacked
        self.queries = 0
        self.status = None
        self.order: list[int] = []
        self.pointer = 0
        self.p_before = None
        self.p_now = None


def attacked_text(task: Task, example: dict):
    from textattack.shared import AttackedText

    ranges = protected_ranges(task, example)
    fields, meta = OrderedDict(), {}
    for field in task.perturbable:
        masked, names = mask(example[field], ranges.get(field, []))
        fields[field] = " ".join(masked.split())
        meta[field] = names
    return AttackedText(fields), ranges, meta


def restore_example(task: Task, example: dict, attacked, ranges, meta) -> dict | None:
    """The example with the attacked fields put back (protected spans restored), or None."""
    out = dict(example)
    for field, text in attacked._text_input.items():
        field_ranges = ranges.get(field, [])
        restored = unmask(text, meta[field], example[field], field_ranges)
        if restored is None:
            return None
        new_text, new_ranges = restored
        out[field] = new_text
        out.update(rewrite_spans(task, example, field, field_ranges, new_ranges, new_text))
    return out


def _key(attacked) -> tuple:
    return tuple(attacked._text_input.values())


class Search:
    """One recipe's search over a batch of examples in lock step, in its parts: the victim on the
    originals (`start`), word importance (`rank_words`, the scoring step), one greedy swap per
    example per round (`step`, the search step), and each example's record (`record`).

    `victim` is the fp32 victim; `cache` may query a lower-precision copy of it (--search-precision):
    then the fp32 victim confirms which originals it gets right and each success before it counts;
    an unconfirmed success goes on searching."""

    def __init__(self, task: Task, victim, spec: AttackSpec, parts, cache: QueryCache):
        self.task, self.victim, self.spec, self.cache = task, victim, spec, cache
        self.transformation, self.pre, self.post = parts
        self.token_ids = getattr(victim, "token_ids", None)
        self.restore_info = {}

    def query(self, pairs):  # [(state, attacked_text)] -> probabilities, counting queries per example
        exs, keys = [], []
        for st, at in pairs:
            restored = restore_example(self.task, st.example, at, *self.restore_info[st.row])
            exs.append(restored if restored is not None else st.example)
            keys.append((st.row, _key(at)))
            st.queries += 1
        return self.cache(exs, keys)

    def exact(self, states, texts, searched: list) -> list:
        """The fp32 victim's probabilities for (state, attacked text) pairs: the search's own answers
        (`searched`) when it searches in fp32, else one batched call (each text counted as a query)."""
        if self.cache.victim is self.victim:
            return searched
        examples = []
        for st, at in zip(states, texts):
            examples.append(restore_example(self.task, st.example, at, *self.restore_info[st.row]) or st.example)
            st.queries += 1
        out = []
        for i in range(0, len(examples), self.spec.batch_size):
            out += list(self.victim.predict_proba(examples[i:i + self.spec.batch_size]))
        return out

    def budget_left(self, st) -> bool:
        return self.spec.query_budget is None or st.queries < self.spec.query_budget

    def within_budget(self, st, items: list) -> list:
        return items if self.spec.query_budget is None else items[:max(self.spec.query_budget - st.queries, 0)]

    def candidates(self, st, index: int) -> list:
        return _candidates(self.transformation, st.current, st.original, [index], self.pre, self.post,
                           self.token_ids, str(st.row))

    def start(self, rows: list[int], examples: list[dict]) -> list[_State]:
        """States for the examples, the victim's view of each original; already-wrong ones skipped."""
        states = []
        for row, ex in zip(rows, examples):
            attacked, ranges, meta = attacked_text(self.task, ex)
            st = _State(row, ex, attacked)
            right = gold(self.task, ex)
            st.target = right[0] if right else None
            self.restore_info[row] = (ranges, meta)
            states.append(st)
        for st, p in zip(states, self.query([(st, st.original) for st in states])):
            st.p_before = st.p_now = p
        judged = [st for st in states if st.target is not None]
        for st in states:
            st.status = None if st.target is not None else "skipped"
        for st, p in zip(judged, self.exact(judged, [st.original for st in judged], [st.p_before for st in judged])):
            if int(np.argmax(p)) != st.target:
                st.status = "skipped"
        return states

    def rank_words(self, active: list[_State]) -> None:
        """Each example's word order: PWWS's saliency (leave-one-out with UNK, softmaxed) x best swap
        gain. Queries past an example's budget are not sent; their scores count as no change.
        The "unk" order (DeepWordBug's, or --word-order unk) is the leave-one-out term alone."""
        requests, tags, plans = [], [], {}
        unk_only = self.spec.order == "unk"
        for st in active:
            indices = sorted(_modifiable(st.original, self.pre, self.transformation))
            swaps = {i: [] if unk_only else self.candidates(st, i) for i in indices}
            mine = [(("unk", i, 0), st.original.replace_word_at_index(i, self.victim.unk_token)) for i in indices]
            mine += [(("swap", i, k), c) for i in indices for k, c in enumerate(swaps[i])]
            mine = self.within_budget(st, mine)
            plans[st.row] = (indices, swaps)
            requests += [(st, text) for _, text in mine]
            tags += [(st.row, tag) for tag, _ in mine]
        answer = dict(zip(tags, self.query(requests))) if requests else {}
        for st in active:
            indices, swaps = plans[st.row]
            y = st.target
            base = 1 - st.p_before[y]

            def score(tag):
                p = answer.get((st.row, tag))
                return base if p is None else 1 - p[y]

            unk_scores = np.array([score(("unk", i, 0)) for i in indices]) - base
            gains = np.array([max((score(("swap", i, k)) for k in range(len(swaps[i]))), default=base) - base
                              for i in indices])
            gains[gains < MIN_GAIN] = 0.0  # noise-level gains would order words by float noise
            if indices and unk_only:
                unk_scores[unk_scores < MIN_GAIN] = 0.0
                st.order = [indices[k] for k in np.argsort(-unk_scores, kind="stable")]
            elif indices:
                saliency = np.exp(unk_scores - unk_scores.max())
                saliency /= saliency.sum()
                st.order = [indices[k] for k in np.argsort(-(saliency * gains), kind="stable")]
            if not self.budget_left(st):
                st.order = []

    def step(self, active: list[_State]) -> list[_State]:
        """One greedy round: every active example tries its next word's swaps (all examples' in one
        batch of queries) and keeps the best if it lowers the gold probability. The still active."""
        round_pairs, owners = [], []
        for st in active:
            while st.pointer < len(st.order):
                idx = st.order[st.pointer]
                st.pointer += 1
                cands = self.within_budget(st, self.candidates(st, idx))
                if cands:
                    round_pairs += [(st, c) for c in cands]
                    owners.append((st, len(cands)))
                    break
        if not round_pairs:
            return []
        probs = self.query(round_pairs)
        cursor, flipped = 0, []
        for st, n in owners:
            y = st.target
            best_k = max(range(n), key=lambda k: (1 - probs[cursor + k][y], -k))
            if probs[cursor + best_k][y] < st.p_now[y] - MIN_GAIN:
                st.current, st.p_now = round_pairs[cursor + best_k][1], probs[cursor + best_k]
                if int(np.argmax(st.p_now)) != y:
                    flipped.append(st)
            cursor += n
        for st, p in zip(flipped, self.exact(flipped, [st.current for st in flipped], [st.p_now for st in flipped])):
            if int(np.argmax(p)) != st.target:
                st.status = "successful"
        return [st for st in active if st.status is None and st.pointer < len(st.order) and self.budget_left(st)]

    def record(self, st: _State) -> dict:
        final = restore_example(self.task, st.example, st.current, *self.restore_info[st.row]) or st.example
        changed = sum(words_changed(st.example[f], final[f]) for f in self.task.perturbable)
        # The recorded confidences come from scoring each text alone: in a batch, padding to the
        # batch's longest text changes the float sums in the last digits, so the same row would
        # record other digits in another batch (another chunk size, batch size or resume point).
        p_before = self.victim.predict_proba([st.example])[0]
        p_after = p_before if st.current is st.original else self.victim.predict_proba([final])[0]
        y_before, y_after = int(np.argmax(p_before)), int(np.argmax(p_after))
        return {
            "row": st.row, "perturbed": {k: final[k] for k in self.task.input_fields},
            "attack": {"status": st.status or "failed", "queries": st.queries, "words_changed": changed,
                       "label_before": y_before, "confidence_before": round(float(p_before[y_before]), 5),
                       "label_after": y_after, "confidence_after": round(float(p_after[y_after]), 5)},
        }


def lowered(victim, precision: str):
    """The victim the search queries: itself in fp32, else its `lowered(precision)` copy."""
    if precision == "fp32":
        return victim
    if not hasattr(victim, "lowered"):
        raise PTPError(f"--search-precision {precision}: this victim ({type(victim).__name__}) offers no "
                       "lower-precision copy; use --search-precision fp32")
    return victim.lowered(precision)


def attack_batch(task: Task, examples: list[dict], rows: list[int], victim, spec: AttackSpec, parts,
                 cache: QueryCache) -> list[dict]:
    """The recipe's search on a batch of examples in lock step; one result record per example."""
    search = Search(task, victim, spec, parts, cache)
    states = search.start(rows, examples)
    active = [st for st in states if st.status is None]
    search.rank_words(active)
    while active:
        active = search.step(active)
    return [search.record(st) for st in states]


def _modifiable(text, pre, transformation) -> set:
    indices = set(range(len(text.words)))
    for constraint in pre:
        indices &= constraint(text, transformation)
    return indices


def _candidates(transformation, current, original, indices, pre, post, token_ids=None, key: str = "") -> list:
    """Transformed texts at `indices`, filtered by the constraints, in a fixed order.

    With the victim's `token_ids(word)`, a swap the victim cannot see (an uncased tokenizer maps
    "it" and "IT" to the same ids) is not a candidate: it would count as a changed word and change
    nothing, and its score would differ from the original's by float noise alone."""
    with seeded(f"{key}:{indices}"):
        cands = transformation(current, pre_transformation_constraints=pre, indices_to_modify=indices)
    cands = sorted(cands, key=lambda t: t.text)
    if token_ids is not None and len(indices) == 1:
        own = token_ids(current.words[indices[0]])
        cands = [c for c in cands if token_ids(c.words[indices[0]]) != own]
    for constraint in post:
        cands = [c for c in cands if constraint(c, original)]
    return cands


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
    parts = textattack_parts(spec.max_change, spec.recipe)
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
        results = attack_batch(task, [split[i] for i in rows], rows, victim, spec, parts, cache)
        name = f"chunk-{rows[0]:08d}-{rows[-1]:08d}.jsonl"
        tmp = work / f".{name}.tmp"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in results))
        os.replace(tmp, work / name)  # a chunk is all there or not at all
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

    from .build import pair_features

    return pair_features(task, extra={"attack": {
        "status": Value("string"), "queries": Value("int32"), "words_changed": Value("int32"),
        "label_before": Value("int32"), "confidence_before": Value("float32"),
        "label_after": Value("int32"), "confidence_after": Value("float32")}})


def adversarial_splitter(spec: AttackSpec, load_victim, log=print):
    """A `perturb_split` for build_corpus: attack the train split with the victim.

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
