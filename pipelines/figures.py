"""Figures in the README and the docs, written from the committed JSON, never retyped.

A block between `<!-- figure: NAME -->` and `<!-- /figure -->` in a markdown file is NAME's text as
FIGURES renders it from its JSON (benchmarks/results/*.json, docs/**/results.json). `ptp-pipeline
figures` rewrites every block of every file; `ptp-pipeline figures --check` lists the blocks whose
text differs from what their JSON gives (exit 1), and tests/test_figures.py runs the check, so a
result that is rerun cannot leave a stale figure behind. A renderer reads only JSON and formats;
the wording a number earns (negative, none shown, unstable) is decided here, by one rule per kind.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- figure: ([\w-]+) -->\n)(.*?)(<!-- /figure -->)", re.S)


def load(root: Path, path: str) -> dict:
    return json.loads((root / path).read_text())


def ms(d: dict) -> str:
    return f"{d['mean']:.2f} +- {d['std']:.2f}"


def gain(g: dict) -> str:
    low, high = g["gain_ci"]
    return f"{g['gain']:+.2f} [{low:+.2f}, {high:+.2f}]"


def ratio(value: float, ci) -> str:
    return f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and None not in ci else f"{value:.2f}"


def verdict(effects: list[tuple[str, dict]]) -> str:
    """What paired gains show, by one rule: an interval below 0 is a loss (lower), above 0 a
    gain (higher), across 0 no effect shown."""
    groups = {"lower": [], "higher": [], "none": []}
    for name, g in effects:
        low, high = g["gain_ci"]
        side = "lower" if high is not None and high < 0 else "higher" if low is not None and low > 0 else "none"
        groups[side].append(name if side == "none" else f"{name} {gain(g)}")
    parts = [f"**{side}**: {'; '.join(groups[side])}" for side in ("lower", "higher") if groups[side]]
    return "; ".join(parts + ([f"no effect shown: {', '.join(groups['none'])}"] if groups["none"] else []))


def collapsed(values: list[float], shares: list, floor: float) -> int:
    """At or below the majority floor, or >= 95% of the reported split in one class."""
    return sum(v <= floor or (s is not None and s >= 0.95) for v, s in zip(values, shares))


# ---- README ----------------------------------------------------------------------------------

def demo(root: Path) -> str:
    d = load(root, "docs/demo/comparison.json")
    floor = d["floor"]["accuracy"]
    lines = ["| method | test accuracy, mean +- std | min | max | at the floor | paired gain [95% CI] | std ratio [95% CI] |",
             "|---|---|---|---|---|---|---|"]
    for name, m in d["methods"].items():
        v = m["vs_baseline"]
        lines.append(f"| {name} | {ms(m)} | {m['min']:.2f} | {m['max']:.2f} | "
                     f"{sum(x <= floor for x in m['values'])}/{len(m['values'])} | "
                     f"{gain(v) if v else '—'} | {ratio(v['std_ratio'], v['std_ratio_ci']) if v else '—'} |")
    lines.append(f"| zero-training floor ({d['floor']['rule']}) | {floor:.2f} | | | | | |")
    return "\n".join(lines)


CLAIM_32 = (("vanilla", "vanilla (lr swept)"), ("rn-embed", "rn-embed (sigma swept)"),
            ("rn-text-45", "rn-text ([#45 partners](docs/few-shot-32/rn-text-45/README.md), rate swept: 0.1)"),
            ("freelb", "FreeLB (step swept; PGD tied)"), ("adv-text-tuned", "adv-text (lambda swept: 0.1)"))


def claim_32_rows(root: Path) -> dict[str, dict]:
    """The MiniLM 32-example claim cell: name -> {mean, std, vs (paired), within (std ratio)}."""
    grid = load(root, "docs/few-shot-32/grid/results.json")
    rows = {name: {**m, "vs": m["vs_baseline"], "within": grid["within_draws"].get(name)}
            for name, m in grid["comparison"]["methods"].items()}
    rn = load(root, "docs/few-shot-32/rn-text-45/results.json")
    rows["rn-text-45"] = {**rn["rn_text_45_tuned"], "vs": rn["gain_vs_vanilla"], "within": rn["within_draws_vs_vanilla"]}
    return rows


def claim_32(root: Path) -> str:
    rows = claim_32_rows(root)
    lines = ["| method | test mean +- std | paired gain [95% CI] | std ratio within draws [95% CI] |",
             "|---|---|---|---|"]
    for name, shown in CLAIM_32:
        r = rows[name]
        lines.append(f"| {shown} | {ms(r)} | {gain(r['vs']) if r['vs'] else '—'} | "
                     f"{ratio(r['within']['std_ratio'], r['within']['std_ratio_ci']) if r['within'] else '—'} |")
    return "\n".join(lines)


def _cells(root: Path, *paths: str) -> list[dict]:
    return [cell for p in paths for cell in load(root, p)["cells"].values()]


def _stability_cell(root: Path, paths: list[str], names: dict[str, str]) -> tuple[str, str]:
    """(vanilla, PTP) cells of a regimes row from 3-draw stability results.json files that share
    their vanilla runs (checked: the same per-seed values)."""
    methods, within, vanilla_values = {}, {}, None
    for path in paths:
        d = load(root, path)
        values = d["comparison"]["methods"]["vanilla"]["values"]
        if vanilla_values is not None and values != vanilla_values:
            raise ValueError(f"{path}: its vanilla runs are not those of {paths[0]}")
        vanilla_values = values
        methods = {**d["comparison"]["methods"], **methods}
        within.update(d["within_draws"])
    v = methods["vanilla"]
    base_within = next(iter(within.values()))["baseline_std"] if within else None
    runs = len(v["one_class_share"])
    vanilla = (f"{ms(v)}" + (f" (within draws {base_within:.2f})" if base_within else "")
               + f", {v['collapsed']}/{runs} collapsed")
    effects = [(shown, methods[key]["vs_baseline"]) for key, shown in names.items() if key in methods]
    spread = [within[key]["std_ratio"] for key in names if key in within]
    collapses = [methods[key]["collapsed"] for key in names if key in methods]
    return vanilla, (f"{verdict(effects)}; std ratio within draws {span(spread, '.2f')}; "
                     f"collapsed {span(collapses, 'd')}/{runs}")


def span(values: list, spec: str) -> str:
    low, high = min(values), max(values)
    return format(low, spec) if low == high else f"{format(low, spec)}-{format(high, spec)}"


def lr(value: float) -> str:
    """1e-2, 3e-3: as the write-ups name learning rates."""
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def regimes(root: Path) -> str:
    minilm = _cells(root, "docs/stability-map/minilm-sentiment-32/results.json",
                    "docs/stability-map/minilm-sentiment-128/results.json")
    minilm_runs = sum(len(c["seeds"]) for c in minilm)
    claim = claim_32_rows(root)
    claim_effects = [(shown.split(" (")[0], claim[key]["vs"]) for key, shown in CLAIM_32[1:]]
    deep = _cells(root, "docs/stability-map/mpnet-sentiment-32-lr/results.json")
    kv = _cells(root, "docs/stability-map/mpnet-kv-prefix/results.json",
                "docs/stability-map/mpnet-kv-prefix/results-rest.json")
    unstable = [c for c in kv if c["std"] >= 4 or c["collapse_rate"] >= 0.2]
    stable = [c for c in kv if c not in unstable]
    boolq = load(root, "docs/stability-map/mpnet-boolq/seed-1-metrics.json")
    deep_1e2 = _stability_cell(root, ["docs/stability-map/mpnet-ptp-32/results.json",
                                      "docs/stability-map/mpnet-ptp-32/rn-text/results.json"],
                               {"rn-embed-tuned": "rn-embed", "freelb-tuned": "FreeLB", "rn-text-tuned": "rn-text"})
    deep_3e2 = _stability_cell(root, ["docs/stability-map/mpnet-ptp-32-lr3e-2/all-methods/results.json"],
                               {"rn-embed-tuned": "rn-embed", "freelb-tuned": "FreeLB", "rn-text-tuned": "rn-text"})
    kv_ptp = _stability_cell(root, ["docs/stability-map/mpnet-kv-prefix/ptp/results.json"],
                             {"rn-embed-tuned": "rn-embed", "rn-prompt-tuned": "prompt noise", "sam-tuned": "SAM",
                              "freelb-tuned": "FreeLB"})

    def cell(c):
        return f"{lr(c['lr'])}/{c['prefix_len']}" + (f" at {c['epochs']} ep." if c["epochs"] != 6 else "")

    def collapses(cells):
        hit = [f"{cell(c)} {c['collapsed']}/{len(c['seeds'])}" for c in cells if c["collapsed"]]
        return f"collapsed {', '.join(hit)}; 0 elsewhere" if hit else "none collapsed"

    rows = [
        ("MiniLM (22M)", "key/value prefix (PEFT)", "3e-3-3e-2, 6-60, 8/20",
         "32 and 128 ex., 1 draw, 5 seeds a cell ([map](docs/stability-map/README.md))",
         f"std {min(c['std'] for c in minilm):.1f}-{max(c['std'] for c in minilm):.1f} a cell; "
         f"{sum(c['collapsed'] for c in minilm)}/{minilm_runs} collapsed", "—"),
        ("MiniLM", "key/value prefix (PEFT)", "1e-2 (swept), 6, 20", "32 ex., 3 draws x 10 seeds",
         ms(claim["vanilla"]), verdict(claim_effects) + " (table below)"),
        ("MPNet-base (110M)", "VPT-deep (layer-input)", "1e-2, 6, 20, bf16", "32 ex., 3 draws x 10 seeds",
         deep_1e2[0], deep_1e2[1] + " ([write-up](docs/stability-map/mpnet-ptp-32/README.md))"),
        ("MPNet-base", "VPT-deep", "3e-2, 6, 20, bf16", "32 ex., 3 draws x 10 seeds", deep_3e2[0],
         deep_3e2[1] + " ([write-up](docs/stability-map/mpnet-ptp-32-lr3e-2/))"),
        ("MPNet-base", "VPT-deep", "3e-3-3e-2, 6, 8/20", "32 ex., 1 draw x 5 seeds a cell",
         f"std {span([c['std'] for c in deep], '.1f')} a cell; {collapses(deep)}",
         "— ([slice](docs/stability-map/mpnet-sentiment-32-lr/))"),
        ("MPNet-base", "**key/value prefix** (P-tuning v2's)", "3e-3-3e-2, 6, 8/20; 1e-2/20 at 20 ep., bf16",
         "32 ex., 1 draw x 5 seeds a cell",
         f"{len(unstable)} of {len(kv)} cells unstable (std >= 4 or >= 20% collapsed; std "
         f"{span([c['std'] for c in unstable], '.1f')}; {collapses(kv)}); stable: "
         + "; ".join(f"{cell(c)} {ms(c)}" for c in stable),
         "— ([write-up](docs/stability-map/mpnet-kv-prefix/README.md))"),
        ("MPNet-base", "**key/value prefix**", "1e-2 (vanilla's swept pick), 6, 20, bf16", "32 ex., 3 draws x 10 seeds",
         kv_ptp[0], kv_ptp[1] + "; rn-text not run ([write-up](docs/stability-map/mpnet-kv-prefix/ptp/README.md))"),
        ("MPNet-base", "VPT-deep", "1e-2, 4, 20, bf16", "real BoolQ, 1,024 rows, **1 seed**",
         f"{boolq['test']['best']['accuracy']:.2f}, {boolq['test']['one_class_share']['best']:.0%} in one class",
         "— ([write-up](docs/stability-map/mpnet-boolq/README.md))"),
    ]
    lines = ["| encoder | mechanism | lr, epochs, prompt | data, runs | vanilla | PTP there (knobs swept on validation): "
             "paired gain [95% CI] |", "|---|---|---|---|---|---|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def benchmarks(root: Path) -> str:
    b = lambda name: load(root, f"benchmarks/results/{name}.json")  # noqa: E731
    adv, build, rnd, step, keep, deep = (b("adversarial_vs_textattack"), b("build_wall_time_wic"), b("random_vs_nlpaug"),
                                         b("train_vs_trainer"), b("label_keeping"), b("deep_prompt"))
    ours, att = adv["ptp_augment"][0], adv["textattack_attacker"]
    unk, int8 = adv["ptp_augment_unk_order"], adv["ptp_augment_low_precision"][0]
    full, fast = build["settings"][0], build["settings"][1]
    s, r = step["median_seconds_per_step"], step["ratios"]
    pwws, a2t = keep["recipes"]["pwws"], keep["recipes"]["a2t-wordnet-minilm"]
    # A run's partners read by hand for their label, or None where this run's sample was not read.
    read = lambda rec: (rec.get("reading") or {}).get("read", {}).get("yes")  # noqa: E731
    p = scipy_stats.fisher_exact([[read(a2t), 30 - read(a2t)], [read(pwws), 30 - read(pwws)]])[1] \
        if read(a2t) is not None and read(pwws) is not None else None
    mini, mp = deep["encoders"]["minilm"]["median_seconds_per_step"], deep["encoders"]["mpnet"]["median_seconds_per_step"]

    def at(d):
        return f"{d['machine']['commit']}, {d['machine']['cpu']}"

    rows = [
        (f"adversarial PWWS, {adv['rows']} examples (`adversarial_vs_textattack.py`, {at(adv)})",
         f"TextAttack Attacker: {att['examples_per_s']:.2f} examples/s (stock wrapper: {adv['textattack_stock']['examples_per_s']:.2f})",
         f"{ours['examples_per_s']:.2f} examples/s, success {ours['success_rate']:.2f}% (Attacker {att['success_rate']:.2f}%): "
         f"**{ours['examples_per_s'] / att['examples_per_s']:.2f}x**. `--word-order unk`: "
         f"{unk['examples_per_s'] / att['examples_per_s']:.2f}x ({unk['success_rate']:.2f}%); int8: "
         f"{int8['examples_per_s'] / att['examples_per_s']:.2f}x ({int8['success_rate']:.2f}%)"),
        (f"`ptp-augment build --task wic --mode adversarial`, all {build['train_rows']:,} pairs, {build['processes']} processes "
         f"(`build_wall_time.py`, {at(build)}; projected from {full['rows']})", "—",
         f"{full['projected_full_minutes']} min (PWWS as published, success {full['success_rate']}%); "
         f"{fast['projected_full_minutes']} min with `--word-order unk` ({fast['success_rate']}%)"),
        (f"random mode, {rnd['rows']:,} rows (`random_vs_nlpaug.py`, {at(rnd)})",
         f"plain nlpaug loop: {rnd['nlpaug_loop_rows_per_s']:,.0f} rows/s",
         f"{rnd['ptp_augment_rows_per_s']:,.0f} rows/s at {rnd['num_proc']} processes (**{rnd['speedup']:.2f}x**, "
         f"median of {rnd['rounds']} paired rounds; fastest passes {rnd.get('speedup_fastest', rnd['speedup']):.2f}x)"),
        (f"a training step (`train_vs_trainer.py`, {at(step)}, a loaded machine: ratios rough)",
         f"PEFT + HF Trainer: {s['peft_hf_trainer']:.2f} s",
         f"vanilla {s['ptp_vanilla']:.2f} s (**{r['vanilla_over_trainer']:.2f}x**); PTP-RN {r['rn_over_vanilla']:.2f}x vanilla, "
         f"PGD {r['adv_pgd1_over_vanilla']:.2f}x, FreeLB {r['freelb_k2_over_vanilla']:.2f}x, SMART {r['smart1_over_vanilla']:.2f}x"),
        (f"adversarial partners that keep their label, {keep['rows']} sentiment rows (`label_keeping.py`, {at(keep)}; "
         "[write-up](docs/label-keeping/README.md))",
         f"PWWS: {pwws['rows_per_second']:.2f} rows/s, success {pwws['success_rate']:.1f}%; "
         + (f"{read(pwws)}/30 read keep it; " if read(pwws) is not None else "")
         + f"MPNet judge {pwws['judges']['mpnet-probe']['keeps_label_share']:.1f}%",
         f"`--recipe a2t-wordnet-minilm`: {a2t['rows_per_second']:.2f} rows/s "
         f"(**{keep['a2t_minus_pwws']['rows_per_second_ratio']:.2f}x**), success {a2t['success_rate']:.1f}%; "
         + (f"{read(a2t)}/30 (Fisher p = {p:.2f}); " if p is not None else "")
         + f"judge {a2t['judges']['mpnet-probe']['keeps_label_share']:.1f}%"),
        (f"deep prompt, {deep['prefix_len']} positions, batch {deep['batch_size']} (`deep_prompt.py`, {at(deep)})",
         f"MiniLM, PEFT's prefix: {mini['ptp_prefix']:.2f} s; MPNet, VPT-deep: {mp['ptp_deep']:.2f} s",
         f"MiniLM, our key/value prefix: {mini['ptp_kv_prefix']:.2f} s "
         f"(**{deep['ratios']['minilm_kv_prefix_over_peft_prefix']:.2f}x**); MPNet, our key/value prefix: "
         f"{mp['ptp_prefix']:.2f} s (**{deep['ratios']['mpnet_kv_prefix_over_deep']:.2f}x**)"),
    ]
    lines = ["| what | anchor | this project |", "|---|---|---|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def encoders(root: Path) -> str:
    deep = load(root, "benchmarks/results/deep_prompt.json")
    mini, mp = deep["encoders"]["minilm"]["median_seconds_per_step"], deep["encoders"]["mpnet"]["median_seconds_per_step"]
    return "\n".join([
        f"| `--model` | encoder | `--method prefix` (P-tuning v2's keys and values) | training step, batch "
        f"{deep['batch_size']} ([benchmarks](docs/benchmarks.md#deep-prompts-on-any-encoder), {deep['machine']['cpu']}) |",
        "|---|---|---|---|",
        f"| `minilm` (default) | all-MiniLM-L6-v2: BERT, 6 layers x 384, 22M, a pip dependency | PEFT's prefix | "
        f"{mini['ptp_prefix']:.2f} s |",
        f"| `mpnet` | all-mpnet-base-v2: 12 layers x 768, 110M, fetched from PyPI on first use | training/kv_prefix.py | "
        f"{mp['ptp_prefix']:.2f} s ({mp['ptp_prefix'] / mini['ptp_prefix']:.1f}x MiniLM) |",
        "| a folder or hub id | BERT, RoBERTa, ELECTRA / DeBERTa-v2/v3, MPNet, DistilBERT (tested on tiny configs) "
        "| PEFT's / kv_prefix.py | — |"])


# ---- docs/benchmarks.md ----------------------------------------------------------------------

def random_mode(root: Path) -> str:
    """Every run of random_vs_nlpaug.json, newest first (its history included)."""
    d = load(root, "benchmarks/results/random_vs_nlpaug.json")
    lines = ["| commit, machine | rows, processes | plain nlpaug loop | ptp-augment | speedup (median of paired rounds) "
             "| fastest passes | taggers |", "|---|---|---|---|---|---|---|"]
    for run in [d, *d.get("history", [])]:
        tagger = run.get("tagger", {})
        lines.append(f"| {run['machine']['commit']}, {run['machine']['cpu']} | {run['rows']:,}, {run['num_proc']} | "
                     f"{run['nlpaug_loop_rows_per_s']:,.0f} rows/s | {run['ptp_augment_rows_per_s']:,.0f} rows/s | "
                     f"**{run['speedup']:.2f}x** ({run.get('rounds', 1)} rounds) | {run.get('speedup_fastest', run['speedup']):.2f}x "
                     f"| {tagger.get('nlpaug_loop', '—')} / {tagger.get('ptp_augment', '—')} |")
    return "\n".join(lines)


def deep_prompt(root: Path) -> str:
    d = load(root, "benchmarks/results/deep_prompt.json")
    mini, mp, r = d["encoders"]["minilm"], d["encoders"]["mpnet"], d["ratios"]
    s, t = mini["median_seconds_per_step"], mp["median_seconds_per_step"]
    return "\n".join([
        f"Commit {d['machine']['commit']}, {d['machine']['cpu']} ({d['machine']['cpu_capability']}), "
        f"{d['machine']['cores']} cores, batch {d['batch_size']}, {d['prefix_len']} positions, median of "
        f"{d['steps'] - 2} steps; MiniLM's arms over {d['minilm_rounds']} rounds, the fastest kept:", "",
        "| encoder | anchor | this project | ratio |", "|---|---|---|---|",
        f"| MiniLM (BERT, {mini['layers']} x {mini['hidden']}): PEFT's prefix reaches it | PEFT's prefix: "
        f"{s['ptp_prefix']:.3f} s/step | our key/value prefix (training/kv_prefix.py): {s['ptp_kv_prefix']:.3f} s/step; "
        f"VPT-deep: {s['ptp_deep']:.3f} s/step | kv-prefix/PEFT **{r['minilm_kv_prefix_over_peft_prefix']:.2f}** "
        f"(target <= 1.1); deep/PEFT {r['minilm_deep_over_peft_prefix']:.2f} |",
        f"| MPNet-base ({mp['layers']} x {mp['hidden']}): PEFT's prefix cannot reach it | VPT-deep: {t['ptp_deep']:.3f} "
        f"s/step; PEFT prompt tuning + HF Trainer: {t['peft_prompt_hf_trainer']:.3f} s/step | `--method prefix` "
        f"(kv-prefix): {t['ptp_prefix']:.3f} s/step | kv-prefix/VPT-deep **{r['mpnet_kv_prefix_over_deep']:.2f}**; "
        f"VPT-deep/Trainer {r['mpnet_deep_over_peft_prompt_hf_trainer']:.2f} |",
        "", f"Peak RSS {d['peak_rss_gb']:.2f} GB; MPNet's VPT-deep step is {r['mpnet_over_minilm_deep']:.1f}x MiniLM's."])


def sense_check(root: Path) -> str:
    """docs/label-keeping/sense.md: each check's AUC on the read swaps, and what the context check keeps."""
    d = load(root, "benchmarks/results/sense_check.json")
    names = {"whole": "whole-text cosine (A2T's check)", "window": "15-word window cosine (TextAttack's window)",
             "context": "contextual word cosine (augment/sense.py)", "lesk": "Lesk-style synset by gloss similarity",
             "frequent": "most frequent senses (random mode's default)"}
    lines = [f"{d['swaps']} swaps read ({', '.join(f'{n} {t}' for t, n in d['by_task'].items())}), "
             f"{d['fitting']} fitting their sense ({100 * d['fitting'] / d['swaps']:.0f}%); commit {d['machine']['commit']}.", "",
             "| check | swaps scored | AUC |", "|---|---|---|"]
    lines += [f"| {names[k]} | {c['swaps']} | {c['auc']:.3f} |" for k, c in d["checks"].items()]
    lines += ["", "| synonyms from | context cosine >= | swaps kept | fitting kept | not fitting kept | fit rate of kept |",
              "|---|---|---|---|---|---|"]
    for pool, rows in d["context_kept"].items():
        for r in rows:
            rate = f"{100 * r['fitting_kept'] / r['kept']:.0f}%" if r["kept"] else "—"
            lines.append(f"| {pool} | {r['threshold']:.2f} | {r['kept']} | "
                         f"{r['fitting_kept']} | {r['unfitting_kept']} | {rate} |")
    return "\n".join(lines)


def regularisers(root: Path) -> str:
    """docs/training.md's table: from the registry of regularisers, not from a JSON."""
    from training.regularisers import markdown

    return markdown()


FIGURES = {"regularisers": regularisers, "demo": demo, "claim-32": claim_32, "regimes": regimes, "benchmarks": benchmarks, "encoders": encoders,
           "random-mode": random_mode, "deep-prompt": deep_prompt, "sense-check": sense_check}


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def refresh(root: Path = ROOT, check: bool = False) -> list[str]:
    """Rewrite every figure block from its JSON (or, with `check`, only compare). Returns the
    stale blocks as 'FILE: NAME' (with `check`), or the blocks rewritten."""
    changed = []
    for doc in documents(root):
        text = doc.read_text()
        if "<!-- figure: " not in text:
            continue

        def render(match):
            name = match.group(2)
            if name not in FIGURES:
                raise KeyError(f"{doc}: unknown figure '{name}' (known: {', '.join(FIGURES)})")
            fresh = FIGURES[name](root).rstrip("\n") + "\n"
            if fresh != match.group(3):
                changed.append(f"{doc.relative_to(root)}: {name}")
            return match.group(1) + fresh + match.group(4)

        new = BLOCK.sub(render, text)
        if not check and new != text:
            doc.write_text(new)
    return changed
