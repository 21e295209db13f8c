"""See a corpus: original and partner side by side, the changed words marked, in the terminal (as
TextAttack prints attack results) or as one self-contained HTML page (no network: inline CSS, SVG
and a few lines of script for the status filter).

The word diff is difflib's over the texts' words with their character offsets, not TextAttack's
`AttackedText.all_words_diff`: that one compares word lists position by position, so a deleted
word (random mode) would mark every word after it; and offsets let the page escape the text
between the marks.
"""
from __future__ import annotations

import difflib
import html
import json
from collections import Counter
from pathlib import Path

from .common.atomic import replace_file
from .common.corpus import load_corpus
from .common.errors import PTPError
from .common.tasks import get_task
from .random_ops import WORD

RED, GREEN, BOLD, RESET = "\033[91m", "\033[92m", "\033[1m", "\033[0m"


def word_diff(original: str, partner: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of the words that differ: (in the original, in the partner)."""
    a, b = list(WORD.finditer(original)), list(WORD.finditer(partner))
    matcher = difflib.SequenceMatcher(a=[m.group() for m in a], b=[m.group() for m in b], autojunk=False)
    spans_a, spans_b = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            spans_a += [a[i].span() for i in range(i1, i2)]
            spans_b += [b[j].span() for j in range(j1, j2)]
    return spans_a, spans_b


def marked(text: str, spans: list[tuple[int, int]], mark) -> str:
    """`text` with every piece passed through `mark(hit, piece)`: hit True for a span, None between."""
    out, last = [], 0
    for start, end in spans:
        out.append(mark(None, text[last:start]))
        out.append(mark(True, text[start:end]))
        last = end
    out.append(mark(None, text[last:]))
    return "".join(out)


def view_rows(folder: Path, split: str = "train", status: str | None = None, limit: int | None = None) -> tuple:
    """(manifest, rows to show, every row's status and words changed) of a corpus split."""
    data, manifest = load_corpus(folder)
    if split not in data:
        raise PTPError(f"{folder}: no split '{split}' (has {', '.join(data)})")
    task = get_task(manifest["task"])
    table = data[split]
    if "perturbed" not in table.column_names:
        raise PTPError(f"{folder}: split '{split}' holds no partners (they are in train)")
    fields = [f for f in task.perturbable if f in table.column_names]
    everything, shown = [], []
    for i, row in enumerate(table):
        attack = row.get("attack")
        state = attack["status"] if attack else ("changed" if row["perturbation"]["changed"] else "unchanged")
        words = attack["words_changed"] if attack else row["perturbation"]["words_changed"]
        everything.append((state, words))
        if (status is not None and state != status) or (limit is not None and len(shown) >= limit):
            continue
        texts = []
        for field in fields:
            original, partner = row[field], row["perturbed"][field]
            if isinstance(original, str):
                texts.append((field, original, partner, *word_diff(original, partner)))
        shown.append({"row": i, "idx": row.get("idx"), "label": task.labels[row["label"]]
                      if 0 <= row["label"] < len(task.labels) else row["label"],
                      "status": state, "words_changed": words, "attack": attack, "texts": texts,
                      "victim": confidence(attack, task.labels)})
    statuses = sorted({s for s, _ in everything})
    if status is not None and status not in statuses:
        raise PTPError(f"--status {status}: no row of {folder} ({split}) has it; statuses there: {', '.join(statuses)}")
    return manifest, shown, everything


def confidence(attack: dict | None, labels: tuple = ()) -> str:
    """The victim's label and confidence, before -> after."""
    if not attack or attack.get("confidence_before") is None:
        return ""

    def name(i):
        return labels[i] if isinstance(i, int) and 0 <= i < len(labels) else str(i)

    after = attack.get("confidence_after")
    return (f"{name(attack['label_before'])} {attack['confidence_before']:.2f} -> "
            + (f"{name(attack['label_after'])} {after:.2f}" if after is not None else "n/a"))


def render_terminal(manifest: dict, rows: list[dict], colour: bool = True) -> str:
    def paint(colour_code):
        return lambda hit, text: f"{BOLD}{colour_code}{text}{RESET}" if hit and colour else (
            f"[[{text}]]" if hit else text)

    lines = [f"{manifest['task']} corpus, mode {manifest.get('mode')}: {len(rows)} rows shown"]
    for row in rows:
        attack = row["attack"] or {}
        facts = [f"row {row['row']}", f"label {row['label']}", row["status"], f"{row['words_changed']} words changed"]
        if attack.get("queries") is not None:
            facts.append(f"{attack['queries']} queries")
        if row["victim"]:
            facts.append(f"victim {row['victim']}")
        lines.append("-" * 80)
        lines.append(" | ".join(facts))
        for field, original, partner, spans_o, spans_p in row["texts"]:
            lines.append(f"{field}:")
            lines.append("  " + marked(original, spans_o, paint(RED)))
            lines.append("  " + marked(partner, spans_p, paint(GREEN)))
    return "\n".join(lines)


def histogram_svg(counts: Counter, width: int = 360, height: int = 120) -> str:
    """Rows per number of words changed, as inline SVG bars."""
    if not counts:
        return ""
    top, most = max(counts), max(counts.values())
    bar = width / (top + 1)
    parts = [f'<svg class="hist" width="{width}" height="{height + 30}" role="img" '
             f'aria-label="rows per number of words changed">']
    for k in range(top + 1):
        h = (height * counts.get(k, 0) / most) if most else 0
        parts.append(f'<rect x="{k * bar + 1:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}">'
                     f'<title>{k} words: {counts.get(k, 0)} rows</title></rect>')
        if top < 16 or k % max(1, top // 8) == 0:
            parts.append(f'<text x="{k * bar + bar / 2:.1f}" y="{height + 14}" text-anchor="middle">{k}</text>')
    parts.append(f'<text x="{width / 2}" y="{height + 28}" text-anchor="middle">words changed per row</text></svg>')
    return "".join(parts)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.3em; }} .meta {{ color: #555; }}
.summary {{ display: flex; gap: 2em; align-items: flex-start; margin: 1em 0; }}
.summary table td {{ padding: 0 .8em 0 0; }}
.hist rect {{ fill: #4a78b5; }} .hist text {{ font-size: 11px; fill: #444; }}
.filter label {{ margin-right: 1em; cursor: pointer; }}
table.rows {{ border-collapse: collapse; width: 100%; margin-top: .8em; }}
table.rows th, table.rows td {{ border-top: 1px solid #ddd; padding: .4em .5em; vertical-align: top; text-align: left; }}
table.rows td.text {{ width: 38%; }}
.del {{ background: #ffd4d4; color: #8a0000; font-weight: 600; border-radius: 2px; }}
.ins {{ background: #d2f5d2; color: #005c00; font-weight: 600; border-radius: 2px; }}
.field {{ color: #777; font-size: .85em; }}
.status {{ font-weight: 600; }} .status.successful {{ color: #a00; }} .status.failed {{ color: #555; }}
.status.changed {{ color: #a00; }}
</style></head><body>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<div class="summary"><table>{summary}</table>{histogram}</div>
<div class="filter">Show: {filters}</div>
<table class="rows"><thead><tr><th>row</th><th>label</th><th>status</th><th>victim</th><th>original</th><th>partner</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<script>
for (const box of document.querySelectorAll('.filter input')) {{
  box.addEventListener('change', () => {{
    const on = new Set([...document.querySelectorAll('.filter input:checked')].map(b => b.value));
    for (const tr of document.querySelectorAll('tbody tr')) tr.hidden = !on.has(tr.dataset.status);
  }});
}}
</script>
</body></html>
"""


def render_html(folder: Path, manifest: dict, rows: list[dict], everything: list[tuple[str, int]]) -> str:
    esc = html.escape

    def cls(name):
        return lambda hit, text: f'<span class="{name}">{esc(text)}</span>' if hit else esc(text)

    statuses = Counter(s for s, _ in everything)
    queries = [r["attack"]["queries"] for r in rows if r["attack"] and r["attack"].get("queries") is not None]
    summary = [("rows", len(everything))] + [(f"{status}", n) for status, n in sorted(statuses.items())]
    summary.append(("mean words changed (all rows)", f"{sum(w for _, w in everything) / max(len(everything), 1):.2f}"))
    if queries:
        summary.append(("mean queries (rows shown)", f"{sum(queries) / len(queries):.1f}"))
    body = []
    for row in rows:
        attack = row["attack"] or {}
        originals = "".join(f'<div><span class="field">{esc(f)}</span> {marked(o, so, cls("del"))}</div>'
                            for f, o, _, so, _ in row["texts"])
        partners = "".join(f'<div><span class="field">{esc(f)}</span> {marked(p, sp, cls("ins"))}</div>'
                           for f, _, p, _, sp in row["texts"])
        queried = f"<br>{attack['queries']} queries" if attack.get("queries") is not None else ""
        body.append(f'<tr data-status="{esc(row["status"])}"><td>{row["row"]}</td><td>{esc(str(row["label"]))}</td>'
                    f'<td><span class="status {esc(row["status"])}">{esc(row["status"])}</span><br>'
                    f'{row["words_changed"]} words{queried}</td><td>{esc(row["victim"])}</td>'
                    f'<td class="text">{originals}</td><td class="text">{partners}</td></tr>')
    params = manifest.get("params") or manifest.get("parameters") or {}
    meta = (f"task {esc(manifest['task'])} · mode {esc(str(manifest.get('mode')))} · "
            f"{esc(json.dumps(params, sort_keys=True)[:300])} · {len(rows)} of {len(everything)} rows shown")
    filters = "".join(f'<label><input type="checkbox" value="{esc(s)}" checked> {esc(s)} ({n})</label>'
                      for s, n in sorted(statuses.items()))
    return PAGE.format(title=esc(f"{Path(folder).name}: original and partner"), meta=meta,
                       summary="".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in summary),
                       histogram=histogram_svg(Counter(w for _, w in everything)), filters=filters,
                       rows="\n".join(body))


def write_page(folder: Path, out: Path, manifest: dict, rows: list[dict], everything) -> Path:
    """DIR/index.html, written whole or not at all (a temporary file renamed into place; the
    folder's other files are left alone)."""
    page = render_html(folder, manifest, rows, everything)
    target = Path(out) / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_file(target, page)
    return target
