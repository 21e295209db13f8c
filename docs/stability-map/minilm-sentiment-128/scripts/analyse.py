"""Prompt 20 against prompt 8 over the map's (lr, length) pairs: pooled seed std from deviations
from each cell's median, Brown-Forsythe (Levene, median-centred) on those deviations, and a
two-sided sign test over the pairs; lr against the mean. The same analysis as the 32-example map."""
import json, statistics, sys
from scipy import stats
r = json.load(open(sys.argv[1]))
cells = r["cells"].values()
dev = {8: [], 20: []}
pairs = []
for c in cells:
    med = statistics.median(c["selected"])
    dev[c["prefix_len"]] += [v - med for v in c["selected"]]
for c in cells:
    if c["prefix_len"] == 20:
        o = next((d for d in cells if d["prefix_len"] == 8 and d["lr"] == c["lr"] and d["epochs"] == c["epochs"]), None)
        if o: pairs.append((c["lr"], c["epochs"], c["std"], o["std"]))
for p in pairs: print(f"lr {p[0]:g} ep {p[1]}: std p20 {p[2]:.2f} p8 {p[3]:.2f}")
wider = sum(a > b for *_, a, b in pairs)
pooled = {k: (sum(x * x for x in v) / (len(v) - 1)) ** 0.5 for k, v in dev.items()}
print(f"prompt 20 wider in {wider}/{len(pairs)} pairs, sign test p {stats.binomtest(wider, len(pairs)).pvalue:.3f}")
print(f"pooled std (deviation from cell median): p20 {pooled[20]:.2f} p8 {pooled[8]:.2f}, "
      f"Brown-Forsythe p {stats.levene(dev[20], dev[8], center='median').pvalue:.3f}")
for lr in sorted({c['lr'] for c in cells}):
    ms = [c["mean"] for c in cells if c["lr"] == lr]
    print(f"lr {lr:g}: cell means {min(ms):.2f}-{max(ms):.2f}")
allstd = [c["std"] for c in cells]
print(f"std range {min(allstd):.2f}-{max(allstd):.2f}; collapsed {sum(c['collapsed'] for c in cells)}/{sum(len(c['seeds']) for c in cells)}")
