"""The attack's goal, as TextAttack's goal_functions/classification/untargeted_classification.py:
succeed when the victim's prediction leaves the gold output (label, COPA choice, ReCoRD's first
gold entity); the score the search climbs is 1 - p(gold)."""
from __future__ import annotations

import numpy as np

# A swap counts only if it lowers the gold output's probability by at least this much. Smaller
# changes are float noise: padding a text to its batch's longest moves the victim's sums in the
# last digits, so accepting them would make the corpus depend on batch and chunk composition.
MIN_GAIN = 1e-4


class UntargetedClassification:
    min_gain = MIN_GAIN

    @staticmethod
    def score(probs, target: int) -> float:
        """How far the text is from the gold output (higher is closer to the goal)."""
        return 1 - probs[target]

    @staticmethod
    def is_complete(probs, target: int) -> bool:
        return int(np.argmax(probs)) != target

    def improves(self, new, now, target: int) -> bool:
        """A step toward the goal that is not float noise."""
        return new[target] < now[target] - self.min_gain
