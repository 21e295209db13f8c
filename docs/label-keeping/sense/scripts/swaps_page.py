"""The first 30 word swaps of a label-keeping sample page (original/partner pairs), each in its
context, for a person to mark whether the new word fits the sense the text uses."""
import difflib, re, sys
from pathlib import Path

page, out, title = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
pairs = re.findall(r"^\s+- original: (.*)\n\s+- partner:  (.*)$", page.read_text(), re.M)
lines, n = [title, "", f"From {page.name}: the word swaps of its sampled partners in order, the first 30 "
            "(deletions left out). Mark: does the new word fit the sense the text uses? (1 yes, 0 no)", ""], 0
for original, partner in pairs:
    a, b = original.split(" "), partner.split(" ")
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "replace" or i2 - i1 != 1 or n == 30:
            continue
        n += 1
        left, right = " ".join(a[max(0, i1 - 10):i1]), " ".join(a[i2:i2 + 8])
        lines.append(f"{n}. ... {left} [[{' '.join(a[i1:i2])} -> {' '.join(b[j1:j2])}]] {right} ...  fits: ")
out.write_text("\n".join(lines) + "\n")
print(f"{n} swaps -> {out}")
