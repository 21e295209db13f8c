"""Random partners of 300 BoolQ passages, before and after #56: swaps, new offensive words, split
# Corpora read from /work/lk/boolq-NAME, built as: ptp-augment build --task-file boolq_passages.yaml --mode random [--senses context] --out /work/lk/boolq-NAME
# (at b0fa77e for before-frequent, 2010f89 for the others). Usage: python longtext.py NAME ... | show NAME
multi-word expressions, swaps over a word longer; and 30 swaps drawn for reading."""
import difflib, json, random, re, sys
sys.path.insert(0, "/work/main")
from augment.common.corpus import load_corpus
from augment.protect import multiword_expressions, offensive
out = {}
pages = {}
for name in ([] if sys.argv[1] == 'show' else sys.argv[1:]):
    data, manifest = load_corpus(f"/work/lk/boolq-{name}")
    rows = data["train"].to_list()
    swaps, offence, split, longer = [], 0, 0, 0
    for r in rows:
        a, b = r["passage"], r["perturbed"]["passage"]
        # a multi-word expression split or edited: its words no longer all there, as often as before
        split += sum(1 for t in {a[s:e] for s, e in multiword_expressions(a)} if len(re.findall(rf'\b{re.escape(t)}\b', b)) < len(re.findall(rf'\b{re.escape(t)}\b', a)))
        aw, bw = a.split(" "), b.split(" ")
        had = {w.lower().strip(".,;:!?()'\"") for w in aw}
        # character spans of each word of a
        starts, pos = [], 0
        for w in aw:
            starts.append(pos); pos += len(w) + 1
        mwes = multiword_expressions(a)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=aw, b=bw, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            lo, hi = starts[i1] if i1 < len(starts) else len(a), (starts[i2 - 1] + len(aw[i2 - 1])) if i2 > i1 else (starts[i1] if i1 < len(starts) else len(a))
            new = [w.strip(".,;:!?()'\"").lower() for w in bw[j1:j2]]
            offence += sum(1 for w in new if w and offensive(w) and w not in had)
            if tag == "replace":
                if i2 - i1 == 1 and len(bw[j1:j2]) > 2:  # one word become three or more
                    longer += 1
                if i2 - i1 == 1:
                    swaps.append((r["passage"], i1, " ".join(aw[i1:i2]), " ".join(bw[j1:j2])))
    out[name] = {"rows": len(rows), "changed": sum(r["perturbation"]["changed"] for r in rows),
                 "one_word_swaps": len(swaps), "new_offensive_words": offence, "edits_inside_a_multiword_expression": split,
                 "swaps_over_a_word_longer": longer, "build_seconds": manifest.get("seconds"), "params": manifest["params"]}
    picked = sorted(random.Random(0).sample(range(len(swaps)), 30))
    lines = [f"# {name}: 30 one-word swaps of random partners of 300 BoolQ passages", ""]
    for n, k in enumerate(picked, 1):
        text, i, old, new = swaps[k]
        w = text.split(" ")
        lines.append(f"{n}. ... {' '.join(w[max(0, i - 10):i])} [[{old} -> {new}]] {' '.join(w[i + 1:i + 8])} ...  fits: ")
    open(f"/work/lk/read-boolq-{name}.md", "w").write("\n".join(lines) + "\n")
if out: json.dump(out, open("/work/lk/longtext.json", "w"), indent=1)
print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "params"} for k, v in out.items()}, indent=1))

def show(name):
    data, _ = load_corpus(f"/work/lk/boolq-{name}")
    for r in data["train"].to_list():
        a, b = r["passage"], r["perturbed"]["passage"]; aw, bw = a.split(" "), b.split(" ")
        had = {w.lower().strip(".,;:!?()'\"") for w in aw}
        starts, pos = [], 0
        for w in aw:
            starts.append(pos); pos += len(w) + 1
        mwes = multiword_expressions(a)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=aw, b=bw, autojunk=False).get_opcodes():
            if tag == "equal" or i2 == i1: continue
            lo, hi = starts[i1], starts[i2 - 1] + len(aw[i2 - 1])
            hit = [a[s:e] for s, e in mwes if s < hi and e > lo]
            new = [w.strip(".,;:!?()'\"").lower() for w in bw[j1:j2]]
            off = [w for w in new if w and offensive(w) and w not in had]
            if hit or off or (tag == "replace" and len(bw[j1:j2]) > (i2 - i1) + 1):
                print(tag, aw[max(0,i1-3):i2+2], "->", bw[j1:j2], "MWE:", hit, "OFF:", off, r["perturbation"]["ops"])
if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "show":
    show(sys.argv[2])
