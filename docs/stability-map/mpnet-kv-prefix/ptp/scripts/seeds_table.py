"""Every run's test accuracy at the validation-selected epoch, draw x method, seeds 1-10 (bold: collapsed)."""
import json, sys
from pathlib import Path
methods = sys.argv[1:]
print("| draw | method | seeds 1-10 |\n|---|---|---|")
for d in range(3):
    for m in methods:
        vals = []
        for s in range(1, 11):
            f = Path(f"cell/draw-{d}/runs/{m}/seed-{s}/metrics.json")
            if not f.exists():
                vals.append("—"); continue
            t = json.loads(f.read_text())["test"]
            acc, share = t["best"]["accuracy"], t["one_class_share"]["best"]
            vals.append(f"**{acc:.2f}**" if acc <= 58.79 or share >= 0.95 else f"{acc:.2f}")
        print(f"| {d} | {m.replace('-tuned', '')} | {', '.join(vals)} |")
