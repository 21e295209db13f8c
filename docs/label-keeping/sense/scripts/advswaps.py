"""30 one-word swaps of successful adversarial partners (drawn with random.Random(0)), for reading."""
import difflib, random, sys
sys.path.insert(0, "/work/main")
from augment.common.corpus import load_corpus
folder, out, title = sys.argv[1], sys.argv[2], sys.argv[3]
data, _ = load_corpus(folder)
swaps = []
for r in data["train"].to_list():
    if r["attack"]["status"] != "successful":
        continue
    for field in ("sentence1", "sentence2", "text"):
        if field not in r or r[field] == r["perturbed"][field]:
            continue
        a, b = r[field].split(" "), r["perturbed"][field].split(" ")
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag == "replace" and i2 - i1 == 1:
                swaps.append((r[field], i1, a[i1], " ".join(b[j1:j2]), r.get("word", "")))
picked = sorted(random.Random(0).sample(range(len(swaps)), min(30, len(swaps))))
lines = [title, "", f"{len(swaps)} one-word swaps in the successful partners; 30 drawn with random.Random(0). "
         "Mark: does the new word fit the sense the text uses? (1 yes, 0 no)", ""]
for n, k in enumerate(picked, 1):
    text, i, old, new, word = swaps[k]
    w = text.split(" ")
    lines.append(f"{n}. ... {' '.join(w[max(0, i - 12):i])} [[{old} -> {new}]] {' '.join(w[i + 1:i + 10])} ...  fits: ")
open(out, "w").write("\n".join(lines) + "\n")
print(len(swaps))
