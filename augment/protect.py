"""Protected spans as placeholder words, for every perturbation of stage 1.

Any edit (random or adversarial) sees a text whose protected spans (WiC's target word, WSC's
spans, ReCoRD's entities, a task file's protected words) are each replaced by a placeholder word
that no edit may touch: `mask` before, `unmask` after (which also gives the spans' new offsets).
"""
from __future__ import annotations

import difflib
import re

PLACEHOLDER = "PTPKEEP"
# Text whose words are not prose: markup, entities, URLs, e-mail addresses, dotted abbreviations
# ("U.S.", "e.g."). No word inside them is edited, in random or adversarial mode.
NOT_PROSE = re.compile(r"<[^<>]*>|&\w+;|(?:https?://|www\.)\S+|\S+@\S+\.\w+|(?<!\w)(?:[^\W\d_]\.){2,}")

def placeholder(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return PLACEHOLDER + letters


def mask(text: str, ranges) -> tuple[str, list[str]]:
    """Replace each protected range by a placeholder word (padded with spaces)."""
    out, last, names = [], 0, []
    for i, (start, end) in enumerate(ranges):
        names.append(placeholder(i))
        out += [text[last:start], f" {names[-1]} "]
        last = end
    out.append(text[last:])
    return "".join(out), names


def unmask(masked: str, names: list[str], text: str, ranges) -> tuple[str, list] | None:
    """Put the protected texts back, spaced as in the original; None if an edit lost one."""
    parts, rest = [], masked
    for name in names:
        if rest.count(name) != 1:
            return None
        before, rest = rest.split(name, 1)
        parts.append(before.strip())
    parts.append(rest.strip())
    if any(PLACEHOLDER in part for part in parts):
        return None
    out, new_ranges = parts[0], []
    for i, (start, end) in enumerate(ranges):
        if out and text[start - 1:start].isspace():
            out += " "
        new_ranges.append((len(out), len(out) + end - start))
        out += text[start:end]
        if parts[i + 1] and text[end:end + 1].isspace():
            out += " "
        out += parts[i + 1]
    return out, new_ranges


def words_changed(before: str, after: str) -> int:
    """How many of the original words were replaced or deleted (difflib over whitespace words)."""
    a, b = before.split(), after.split()
    kept = sum(block.size for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks())
    return max(len(a) - kept, len(b) - kept)


def protected_spans_constraint():
    """A TextAttack pre-transformation constraint: placeholder words are never modifiable (built on
    call, so that random mode never imports TextAttack)."""
    from textattack.constraints.pre_transformation_constraint import PreTransformationConstraint

    class ProtectedSpans(PreTransformationConstraint):
        """Placeholder words stand for protected spans: never modifiable."""

        def _get_modifiable_indices(self, current_text):
            return {i for i, w in enumerate(current_text.words) if not w.startswith(PLACEHOLDER)}

    return ProtectedSpans()
