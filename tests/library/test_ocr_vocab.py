"""A talk's surely read words correct its unsurely read ones, and only where a misread is plain.

The unsure words and their confidences are real: PP-OCR's reading of the code listings of
pgf-a4-speaker-left (realism bench, dev), where the same words were read surely elsewhere.
"""

from slidecast.ocr import Word
from slidecast.ocr.base import page_from_words
from slidecast.ocr.vocab import correct_pages


def page(*words: tuple[str, float]):
    return page_from_words([Word(text, (60 * i, 0, 60 * i + 50, 20), confidence)
                            for i, (text, confidence) in enumerate(words)])


def sure_pages():
    """Three slides read surely: the talk's vocabulary."""
    return [page(("\\draw", 0.99), ("start", 0.99), ("whole", 0.99), ("(0,1)", 0.99), ("questo", 0.99))
            for _ in range(3)] + [page(("whose", 0.99))]


def test_unsure_misreads_take_the_talks_sure_spelling():
    read = page(("\\drau", 0.352), ("Vdraw", 0.3908), ("[atart", 0.4306), ("angle", 0.99))
    corrected = correct_pages(sure_pages() + [read])[-1]
    assert corrected.text == "\\draw draw [start angle"


def test_digits_real_words_and_endings_are_left_as_read():
    # "(0,0)" is digits; "whose" was read surely once, so it is a word of the talk, not a
    # misread of "whole"; "questa" differs from "questo" in its ending only (Italian grammar).
    read = page(("(0,0)", 0.413), ("whose", 0.55), ("questa", 0.5), ("drw", 0.3))
    corrected = correct_pages(sure_pages() + [read])[-1]
    assert corrected.text == "(0,0) whose questa drw"


def test_a_word_read_surely_too_rarely_corrects_nothing():
    read = page(("\\drau", 0.352))
    vocabulary = [page(("\\draw", 0.99)), page(("\\draw", 0.99))]
    assert correct_pages(vocabulary + [read])[-1].text == "\\drau"
