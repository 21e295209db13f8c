"""WordNet reduced to what a synonym swap reads: each synset's lemma names and their SemCor counts.

Random mode looks up the senses of every content word it may swap (random_ops). Through NLTK's
reader each first lookup parses the synset's whole line of the data file (pointers, frames,
gloss), and a split's worker processes start with none parsed: at 2,000 WordNet-WiC rows, half of
a build's time. This table holds, per synset, only its lemma names in WordNet's order and each
lemma's SemCor count (index.sense, as `Lemma.count()` reads it); synsets are found as NLTK's
`synsets(word, pos)` finds them (its `_morphy` forms, then the index's offsets, in that order).
It is built once from NLTK's reader (about 15 s on 2 cores), kept as JSON in the project's
cache under a fingerprint of the WordNet files, and loaded before a split's workers fork.
tests/test_random_partners.py checks it against NLTK's synsets, lemmas and counts.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from .atomic import replace_file
from .resources import cache_dir, ensure_resources

VERSION = 1


def _files():
    from nltk.corpus import wordnet as wn

    root = Path(str(wn.root))
    return [root / name for name in ("data.noun", "data.verb", "data.adj", "data.adv", "index.sense")]


def fingerprint() -> str:
    """WordNet's files by name, size and modification time, and this table's version."""
    parts = [f"v{VERSION}"] + [f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in _files()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def table_path() -> Path:
    return cache_dir() / "wordnet" / f"lemmas-{fingerprint()}.json"


def build() -> dict[str, list[list]]:
    """'pos:offset' (pos n, v, a or r: the data file) -> [[lemma name, SemCor count], ...]."""
    from nltk.corpus import wordnet as wn

    counts = {}
    with wn.open("index.sense") as handle:
        for line in handle:
            key, _, _, count = line.split()
            counts[key] = int(count)
    return {f"{'a' if syn.pos() == 's' else syn.pos()}:{syn.offset()}":
            [[lem.name(), counts.get(lem.key(), 0)] for lem in syn.lemmas()] for syn in wn.all_synsets()}


@functools.lru_cache(maxsize=1)
def lemma_table() -> dict[str, list[list]]:
    """The table, read from the cache, or built and written there first."""
    ensure_resources()
    path = table_path()
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass  # a damaged file is rebuilt
    table = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.access(path.parent, os.W_OK):
        replace_file(path, json.dumps(table, separators=(",", ":")))
    return table


def synsets(word: str, pos: str) -> list[list[list]]:
    """The lemmas ([name, count] pairs) of each synset `wordnet.synsets(word, pos)` returns, in its order."""
    from nltk.corpus import wordnet as wn

    table, index = lemma_table(), wn._lemma_pos_offset_map
    data = "a" if pos == "s" else pos
    return [table[f"{data}:{offset}"] for form in wn._morphy(word.lower(), pos) for offset in index.get(form, {}).get(pos, [])]
