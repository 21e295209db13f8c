"""Protected spans: find them in an example as character ranges, and write them back after edits.

Any perturbation (random or adversarial) edits a text field with its protected spans masked
out; afterwards the spans' new character ranges are known, and `rewrite_spans` updates the fields
that store them (WiC start/end offsets, WSC word indices, ReCoRD entity spans).
"""
from __future__ import annotations

import re

from .tasks import CharSpan, EntitySpans, Literal, SpanSpec, Task, WordSpan, Words

_WS = re.compile(r"\S+")


def word_starts(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whitespace-separated word (the unit of WSC's span indices)."""
    return [(m.start(), m.end()) for m in _WS.finditer(text)]


def spec_ranges(spec: SpanSpec, example: dict) -> list[tuple[int, int]]:
    text = example[spec.field]
    if isinstance(spec, CharSpan):
        return [(example[spec.start], example[spec.end])]
    if isinstance(spec, WordSpan):
        words = word_starts(text)
        first = example[spec.index]
        n = max(1, len(example[spec.text].split()))
        return [(words[first][0], words[min(first + n, len(words)) - 1][1])]
    if isinstance(spec, EntitySpans):
        return [(s["start"], s["end"]) for s in _span_list(example[spec.spans])]
    if isinstance(spec, Literal):
        return [(m.start(), m.end()) for m in re.finditer(re.escape(spec.text), text)]
    if isinstance(spec, Words):
        return [(m.start(), m.end()) for m in _words_pattern(spec.words).finditer(text)]
    raise TypeError(spec)


def _words_pattern(words: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _span_list(spans) -> list[dict]:
    # datasets returns a Sequence of dicts as a dict of lists.
    if isinstance(spans, dict):
        return [{"start": s, "end": e} for s, e in zip(spans["start"], spans["end"])]
    return list(spans)


def protected_ranges(task: Task, example: dict) -> dict[str, list[tuple[int, int]]]:
    """field -> sorted, merged character ranges that no perturbation may touch."""
    out: dict[str, list[tuple[int, int]]] = {}
    for spec in task.protected:
        out.setdefault(spec.field, []).extend(spec_ranges(spec, example))
    return {f: merged(r) for f, r in out.items()}


def merged(ranges):
    """Sorted ranges, overlapping ones joined."""
    out = []
    for start, end in sorted(ranges):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def rewrite_spans(task: Task, example: dict, field: str, old_ranges, new_ranges, new_text: str) -> dict:
    """The example's span fields for `field`, mapped from old to new character ranges."""
    moved = dict(zip(old_ranges, new_ranges))

    def new(range_):
        # A range inside a merged protected range keeps its offset within it.
        for (o_start, o_end), (n_start, _) in moved.items():
            if o_start <= range_[0] and range_[1] <= o_end:
                return (n_start + range_[0] - o_start, n_start + range_[1] - o_start)
        raise KeyError(range_)

    updates: dict = {}
    for spec in task.protected:
        if spec.field != field:
            continue
        if isinstance(spec, CharSpan):
            start, end = new(spec_ranges(spec, example)[0])
            updates[spec.start], updates[spec.end] = start, end
        elif isinstance(spec, WordSpan):
            start, _ = new(spec_ranges(spec, example)[0])
            updates[spec.index] = sum(1 for s, _ in word_starts(new_text) if s < start)
        elif isinstance(spec, EntitySpans):
            updates[spec.spans] = [dict(zip(("start", "end"), new(r))) for r in spec_ranges(spec, example)]
    return updates
