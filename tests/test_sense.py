"""The sense check both modes share (augment/sense.py): a swap keeps its word's sense in context."""
from __future__ import annotations

from augment.sense import MIN_COSINE, keeps_sense, sense_cosines


def test_the_check_keeps_the_sense_the_sentence_uses():
    """WordNet offers each of these from some sense of the word; only the first fits here."""
    cases = [("The plot is thin and the acting is flat .", 1, "storyline", "patch"),
             ("The directing is very boring and slow .", 4, "tedious", "drilling"),
             ("The rugby ball can be moved up the field by carrying it .", 8, "pitch", "subject")]
    for text, index, fitting, other in cases:
        words = text.split()
        assert keeps_sense(words, index, [fitting, other]) == [True, False], (words[index], sense_cosines(words, index, [fitting, other]))


def test_a_multiword_replacement_is_read_whole():
    """'film' -> 'motion picture': the new word's vector is the mean over both words' pieces, in
    a window that shifts with them; the window is cut at the text's ends."""
    words = "A stunning film .".split()
    one, two = sense_cosines(words, 2, ["movie", "motion picture"])
    assert one > MIN_COSINE and two > MIN_COSINE


def test_the_recipes_constraint_keeps_the_candidates_that_keep_their_sense():
    from augment.attack.offline import textattack_offline
    from augment.sense import sense_constraint

    with textattack_offline():
        from textattack.shared import AttackedText

        original = AttackedText("The plot is thin and the acting is flat")
        fitting, other = original.replace_word_at_index(1, "storyline"), original.replace_word_at_index(1, "patch")
        later = fitting.replace_word_at_index(7, "monotonous")  # a second swap: read at its own index
        assert sense_constraint()._check_constraint_many([other, fitting, later], original) == [fitting, later]
