"""Write the marks (1/0 per line, in order) into a reading page, and a count at its end."""
import re, sys
page, marks = sys.argv[1], sys.argv[2].split(",")
lines = open(page).read().splitlines()
k = 0
for n, line in enumerate(lines):
    if re.match(r"^\d+\. ", line) and line.rstrip().endswith("fits:"):
        lines[n] = line.rstrip() + " " + marks[k]; k += 1
assert k == len(marks) == 30, (k, len(marks))
lines += ["", f"Fit their sense: **{sum(map(int, marks))} / 30** (read by one person, the maintainer who wrote the check)."]
open(page, "w").write("\n".join(lines) + "\n")
print(page, sum(map(int, marks)))
