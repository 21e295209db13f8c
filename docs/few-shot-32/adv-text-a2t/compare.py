"""adv-text with a2t-wordnet-minilm partners (#29) against vanilla and the PWWS adv-text rows on the
same 3 draws x 10 seeds of the 32-example sentiment cell. Vanilla and PWWS values are those
committed in docs/few-shot-32/grid/results.json; the new runs are in RUNS (argv[1]).

    python docs/few-shot-32/adv-text-a2t/compare.py /work/a2t/fs32
"""
import json
import statistics as st
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))
from pipelines.stats import collapsed, compare, within_draws  # noqa: E402

FLOOR = 58.79  # majority floor on test (always "positive")
runs_dir = Path(sys.argv[1])
grid = json.loads((HERE.parent / "grid" / "results.json").read_text())["runs"]


def committed(name):
    v = grid[name]["report"]["selected"]["accuracy"]["values"]
    return [v[10 * d:10 * d + 10] for d in range(3)]


new, shares, partners = [], [], []
for d in range(3):
    r = json.loads((runs_dir / f"draw-{d}" / "results.json").read_text())["runs"]["adv-text-a2t-tuned"]
    values = dict(zip(r["seeds"], r["report"]["selected"]["accuracy"]["values"]))
    new.append([values[s] for s in range(1, 11)])
    for s in range(1, 11):
        m = json.loads((runs_dir / f"draw-{d}" / "runs" / "adv-text-a2t-tuned" / f"seed-{s}" / "metrics.json").read_text())
        shares.append(m["test"]["one_class_share"]["best"])
    corpus = next((runs_dir / f"draw-{d}" / "corpora").glob("sentiment_adversarial_*"))
    partners.append(json.loads((corpus / "ptp_manifest.json").read_text())["summary"])

flat = lambda x: sum(x, [])  # noqa: E731
van, pwws, pwws_tuned = committed("vanilla"), committed("adv-text"), committed("adv-text-tuned")
out = {"setup": "sentiment, 32 examples, draws 0-2 (sample seeds), seeds 1-10, 6 epochs, batch 4, lr 1e-2, "
                "prefix 20; victim benchmark_sentiment_cls_2048x2 (73.8% validation); lambda from the sweep",
       "partners_per_draw": partners,
       "a2t": {"mean": round(st.mean(flat(new)), 2), "std": round(st.stdev(flat(new)), 2), "values": flat(new)},
       "a2t_vs_vanilla": compare(flat(new), flat(van)),
       "a2t_vs_pwws_lambda1": compare(flat(new), flat(pwws)),
       "a2t_vs_pwws_tuned": compare(flat(new), flat(pwws_tuned)),
       "within_draws_a2t_vs_vanilla": within_draws(new, van),
       "per_draw_gain_vs_vanilla": [round(st.mean(n) - st.mean(v), 2) for n, v in zip(new, van)],
       "collapse": {"floor": FLOOR, "vanilla_at_or_below_floor": sum(v <= FLOOR for v in flat(van)),
                    "a2t_at_or_below_floor": sum(v <= FLOOR for v in flat(new)),
                    "a2t_collapsed": sum(collapsed(v, s, FLOOR) for v, s in zip(flat(new), shares)),
                    "a2t_one_class_share_max": max(shares)}}
print(json.dumps(out, indent=1))
(HERE / "results.json").write_text(json.dumps(out, indent=2) + "\n")
