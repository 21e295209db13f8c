"""No embedding perturbation: the perturbed view is the text partner of a --pairs corpus (PTP's
text-space arms), or nothing at all (vanilla prompt tuning, when there is no corpus either)."""
from __future__ import annotations

from . import Regulariser


def term(step):
    clean_scores, perturbed_scores = step.both(step.embeds)
    return clean_scores, step.consistency(clean_scores, perturbed_scores), True


REGULARISER = Regulariser(
    config="NoRegulariser", name="none", term=term, knobs=(),
    paper="vanilla P-tuning v2 (Liu et al. 2022) without a corpus; PTP's text arms with one",
    # Vanilla P-tuning v2 (deep prefix), no perturbed term.
    preset=("vanilla", {"consistency": "none"}))
