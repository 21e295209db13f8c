"""Random partners of 300 BoolQ passages, before and after #56: one-word swaps, new offensive
words, multi-word expressions split or edited, one word become three or more; and 30 one-word
swaps drawn for reading.

The corpora, built with `ptp-augment build --task-file boolq_passages.yaml --mode random --out
CORPORA/boolq-NAME` (at b0fa77e for before-frequent, at 2010f89 for the others), are read from
CORPORA; longtext.json and the read-boolq-NAME.md pages are written there too.
Usage: python longtext.py CORPORA NAME [NAME ...]
"""
import difflib
import json
import random
import re
import sys
from pathlib import Path

from augment.common.corpus import load_corpus
from augment.protect import multiword_expressions, offensive

PUNCTUATION = ".,;:!?()'\""


def count(text: str, phrase: str) -> int:
    return len(re.findall(rf"\b{re.escape(phrase)}\b", text))


def measure(rows: list[dict]) -> tuple[dict, list]:
    swaps, offence, split, longer = [], 0, 0, 0
    for r in rows:
        a, b = r["passage"], r["perturbed"]["passage"]
        # an expression split or edited: it no longer appears as often as in the original
        split += sum(1 for t in {a[s:e] for s, e in multiword_expressions(a)} if count(b, t) < count(a, t))
        aw, bw = a.split(" "), b.split(" ")
        had = {w.lower().strip(PUNCTUATION) for w in aw}
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=aw, b=bw, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            new = [w.strip(PUNCTUATION).lower() for w in bw[j1:j2]]
            offence += sum(1 for w in new if w and offensive(w) and w not in had)
            if tag == "replace" and i2 - i1 == 1:
                longer += j2 - j1 > 2
                swaps.append((a, i1, aw[i1], " ".join(bw[j1:j2])))
    return {"one_word_swaps": len(swaps), "new_offensive_words": offence,
            "edits_inside_a_multiword_expression": split, "swaps_over_a_word_longer": longer}, swaps


def main(corpora: Path, names: list[str]) -> None:
    out = {}
    for name in names:
        data, manifest = load_corpus(corpora / f"boolq-{name}")
        rows = data["train"].to_list()
        counts, swaps = measure(rows)
        out[name] = {"rows": len(rows), "changed": sum(r["perturbation"]["changed"] for r in rows), **counts,
                     "build_seconds": manifest.get("seconds"), "params": manifest["params"]}
        lines = [f"# {name}: 30 one-word swaps of random partners of 300 BoolQ passages", ""]
        for n, k in enumerate(sorted(random.Random(0).sample(range(len(swaps)), 30)), 1):
            text, i, old, new = swaps[k]
            w = text.split(" ")
            lines.append(f"{n}. ... {' '.join(w[max(0, i - 10):i])} [[{old} -> {new}]] {' '.join(w[i + 1:i + 8])} ...  fits: ")
        (corpora / f"read-boolq-{name}.md").write_text("\n".join(lines) + "\n")
    (corpora / "longtext.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "params"} for k, v in out.items()}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
