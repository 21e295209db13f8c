"""A WiC-style data set built from WordNet 3.0 example sentences (the embedded offline default).

WiC (Pilehvar & Camacho-Collados, 2019) was built partly from WordNet examples, so this follows
its recipe where WordNet alone allows:
- targets are single-word noun and verb lemmas; an example sentence counts for a (lemma, synset)
  when the lemma's surface form (itself or an inflection WordNet's morphy maps back) occurs in it;
- a positive pair is two examples of one synset (same sense); a negative pair is two examples of
  the same lemma and part of speech from synsets in different lexicographer files (supersenses):
  WiC pruned too-fine sense distinctions, and the supersense test is WordNet's own coarse grain;
- labels are balanced (negatives sampled to match positives, lemma by lemma first), and the
  train/validation/test splits are disjoint by lemma, as in WiC;
- rows use the official WiC schema, with character offsets of the word's surface form.
Everything is deterministic for a seed: candidates are enumerated in sorted order and every draw
comes from one `random.Random(seed)`.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import random
import re
from collections import defaultdict
from pathlib import Path

BUILDER_VERSION = "2"
WORD_RE = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*")
SPLIT_SHARES = (("train", 0.75), ("validation", 0.125), ("test", 0.125))
MAX_POSITIVES_PER_SENSE = 3
WORDNET_VERSION = "3.0"


@functools.lru_cache(maxsize=None)
def _morphy(word: str, pos: str):
    from nltk.corpus import wordnet as wn

    return wn.morphy(word, pos)


def find_surface(sentence: str, lemma: str, pos: str) -> tuple[int, int] | None:
    """Character offsets of the first token that spells `lemma` (itself or an inflection)."""
    for match in WORD_RE.finditer(sentence):
        low = match.group().lower()
        if low == lemma or (low[0] == lemma[0] and _morphy(low, pos) == lemma):
            return match.start(), match.end()
    return None


def collect_occurrences():
    """(lemma, pos) -> synset name -> [(sentence, start, end)], plus synset -> lexname."""
    from .resources import ensure_resources

    ensure_resources()
    from nltk.corpus import wordnet as wn

    if wn.get_version() != WORDNET_VERSION:
        from .errors import PTPError

        raise PTPError(f"WordNet-WiC is defined on WordNet {WORDNET_VERSION}; found {wn.get_version()}")
    occurrences: dict = defaultdict(lambda: defaultdict(list))
    lexname = {}
    for pos in ("n", "v"):
        for synset in wn.all_synsets(pos):
            examples = synset.examples()
            if not examples:
                continue
            lemmas = sorted({lem.name().lower() for lem in synset.lemmas() if lem.name().isalpha()})
            for lemma in lemmas:
                for sentence in examples:
                    span = find_surface(sentence, lemma, pos)
                    if span is not None:
                        occurrences[(lemma, pos)][synset.name()].append((sentence, *span))
                        lexname[synset.name()] = synset.lexname()
    return occurrences, lexname


def _row(lemma, a, b, label):
    return {"word": lemma, "sentence1": a[0], "sentence2": b[0], "start1": a[1], "end1": a[2],
            "start2": b[1], "end2": b[2], "label": label}


def _pair_key(row) -> frozenset:
    return frozenset((row["sentence1"], row["sentence2"]))


def leftovers_shuffled(rng, rows):
    rng.shuffle(rows)
    return rows


def build_pairs(seed: int = 0):
    """The balanced, lemma-disjoint splits as lists of official-schema rows (label 0/1)."""
    rng = random.Random(seed)
    occurrences, lexname = collect_occurrences()
    positives, negatives = defaultdict(list), defaultdict(list)
    for key in sorted(occurrences):
        senses = occurrences[key]
        for name in sorted(senses):
            examples = sorted(set(senses[name]))
            pairs = [p for p in itertools.combinations(examples, 2) if p[0][0] != p[1][0]]
            rng.shuffle(pairs)
            positives[key] += [_row(key[0], a, b, 1) for a, b in pairs[:MAX_POSITIVES_PER_SENSE]]
        for s1, s2 in itertools.combinations(sorted(senses), 2):
            if lexname[s1] == lexname[s2]:
                continue
            for a in sorted(set(senses[s1])):
                for b in sorted(set(senses[s2])):
                    if a[0] != b[0]:
                        negatives[key].append(_row(key[0], a, b, 0))
    # Splits are drawn by lemma (disjoint, as in WiC), sized by their positives.
    lemmas = sorted({key[0] for key in positives})
    rng.shuffle(lemmas)
    weight = defaultdict(int)
    for key, rows in positives.items():
        weight[key[0]] += len(rows)
    total, cursor, bounds, acc = sum(weight.values()), 0, [], 0.0
    for name, share in SPLIT_SHARES:
        acc += share
        bounds.append((name, acc * total))
    split_of = {}
    for lemma in lemmas:
        split_of[lemma] = next(n for n, bound in bounds if cursor < bound or n == "test")
        cursor += weight[lemma]
    # Within a split: negatives lemma by lemma first (so the word does not give the label away),
    # then from the split's other lemmas until the labels balance.
    current = {name: [] for name, _ in SPLIT_SHARES}
    leftovers = {name: [] for name, _ in SPLIT_SHARES}
    for key in sorted(set(positives) | set(negatives)):
        name = split_of.get(key[0])
        if name is None:  # a lemma with negatives only: no split holds its word
            continue
        cands = negatives.get(key, [])
        rng.shuffle(cands)
        take = len(positives.get(key, ()))
        current[name] += positives.get(key, []) + cands[:take]
        leftovers[name] += cands[take:]
    for name in current:
        seen: set = set()
        rows = [r for r in current[name] + leftovers_shuffled(rng, leftovers[name])
                if not (_pair_key(r) in seen or seen.add(_pair_key(r)))]
        n_pos = sum(r["label"] for r in rows)
        negatives_kept = [r for r in rows if not r["label"]][:n_pos]
        current[name] = [r for r in rows if r["label"]] + negatives_kept
    splits = {}
    for name, rows in current.items():
        rows.sort(key=lambda r: (r["word"], r["sentence1"], r["sentence2"]))
        rng.shuffle(rows)
        out = []
        for i, row in enumerate(rows):
            if rng.random() < 0.5:  # order within a pair carries no signal
                row = {**row, "sentence1": row["sentence2"], "sentence2": row["sentence1"],
                       "start1": row["start2"], "end1": row["end2"],
                       "start2": row["start1"], "end2": row["end1"]}
            out.append({**row, "idx": i})
        splits[name] = out
    return splits


def stats(splits: dict) -> dict:
    """Split sizes, label balance and lemma overlap between splits (must be 0)."""
    lemma_sets = {name: {r["word"] for r in rows} for name, rows in splits.items()}
    overlap = sum(len(a & b) for (_, a), (_, b) in itertools.combinations(lemma_sets.items(), 2))
    return {
        "splits": {name: {"rows": len(rows), "positive": sum(r["label"] for r in rows),
                          "lemmas": len(lemma_sets[name])} for name, rows in splits.items()},
        "lemma_overlap": overlap,
    }


def stats_of(data) -> dict:
    return stats({name: ds.to_list() for name, ds in data.items()})


def export_jsonl(data, folder) -> None:
    """Official WiC files (label as true/false), for tools that read SuperGLUE's format."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl"}
    for split, ds in data.items():
        with (folder / names[split]).open("w") as handle:
            for row in ds:
                handle.write(json.dumps({**row, "label": bool(row["label"])}) + "\n")


def fingerprint(seed: int) -> str:
    """Cheap (no WordNet load): the content is fixed by WordNet 3.0, this code and the seed."""
    key = json.dumps({"builder": "wordnet_wic", "version": BUILDER_VERSION, "seed": seed,
                      "wordnet": WORDNET_VERSION, "max_pos": MAX_POSITIVES_PER_SENSE,
                      "shares": SPLIT_SHARES}, sort_keys=True)
    return "wordnet:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def load_wordnet_wic(seed: int = 0, cache: Path | None = None):
    """Build (or reuse from the cache) the WordNet-WiC DatasetDict and its SourceInfo."""
    from datasets import Dataset, DatasetDict, load_from_disk

    from .corpus import atomic_save
    from .resources import cache_dir, ensure_resources
    from .schema import SourceInfo, features_for
    from .tasks import get_task

    fp = fingerprint(seed)
    folder = (cache or cache_dir() / "sources") / f"wordnet_wic-{fp.split(':')[1]}"
    info = SourceInfo("wordnet", str(folder), fp)
    if (folder / "dataset_dict.json").exists():  # a built set needs no WordNet (or NLTK) to load
        return load_from_disk(str(folder)), info
    ensure_resources()
    features = features_for(get_task("wic"))
    splits = build_pairs(seed)
    data = DatasetDict({n: Dataset.from_list(rows, features=features) for n, rows in splits.items()})
    atomic_save(data, folder, extra={"stats.json": json.dumps(stats(splits), indent=2)})
    return load_from_disk(str(folder)), info
