"""rn-text's 15 pairs (draw 0 seeds 1-10, draw 1 seeds 1-5) pooled with the statistics the
stability report uses (pipelines/stats.py); a report needs the same seeds on every draw."""
import glob, json, re, sys
from statistics import mean, stdev
sys.path.insert(0, "/work/main")
from pipelines.stats import collapse_test, collapsed, compare, within_draws

FLOOR = 58.79  # sentiment test: always 'positive'
runs = {}
for f in glob.glob("cell-rn-text-d*/draw-*/runs/*/seed-*/metrics.json"):
    d, method, s = re.search(r"draw-(\d+)/runs/([^/]+)/seed-(\d+)", f).groups()
    m = json.load(open(f))
    runs[(method, int(d), int(s))] = (m["test"]["best"]["accuracy"], m["test"]["one_class_share"]["best"])
pairs = sorted(k[1:] for k in runs if k[0] == "rn-text-tuned")
text = [runs[("rn-text-tuned", *p)] for p in pairs]; van = [runs[("vanilla", *p)] for p in pairs]
draws = sorted({d for d, _ in pairs})
out = {"pairs": [f"{d}:{s}" for d, s in pairs],
       "rn-text": [a for a, _ in text], "vanilla": [a for a, _ in van],
       "rn-text mean +- std": [round(mean(a for a, _ in text), 2), round(stdev(a for a, _ in text), 2)],
       "vanilla mean +- std": [round(mean(a for a, _ in van), 2), round(stdev(a for a, _ in van), 2)],
       "paired": compare([a for a, _ in text], [a for a, _ in van]),
       "within_draws": within_draws([[runs[("rn-text-tuned", d, s)][0] for dd, s in pairs if dd == d] for d in draws],
                                    [[runs[("vanilla", d, s)][0] for dd, s in pairs if dd == d] for d in draws]),
       "collapsed": [sum(collapsed(a, c, FLOOR) for a, c in text), sum(collapsed(a, c, FLOOR) for a, c in van)],
       "collapse_p": collapse_test([collapsed(a, c, FLOOR) for a, c in text], [collapsed(a, c, FLOOR) for a, c in van]),
       "under_70": [sum(a < 70 for a, _ in text), sum(a < 70 for a, _ in van)]}
json.dump(out, open("rn-text-pooled.json", "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k not in ("pairs", "rn-text", "vanilla")}, indent=1))
