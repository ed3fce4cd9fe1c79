"""Keywords read like an index: each phrase once, without a sentence's punctuation."""

from slidecast.keywords import extract_keywords, fill_keywords, text_language
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo

# Lines written after a real beamer talk (beamerexample-conference-talk.pdf, whose notes showed
# "Perfect Phylogeny" and "perfect phylogeny." side by side): bullets end with a full stop.
SLIDE = """Perfect Phylogeny Haplotyping
Haplotype matrices admit a perfect phylogeny.
Genotype matrices that admit a perfect phylogeny.
Perfect phylogeny haplotyping is solved in linear time.
Haplotype Matrices and Genotype Matrices"""


def test_a_phrase_that_ends_a_sentence_is_not_a_second_keyword():
    keywords = extract_keywords(SLIDE, 8)
    assert [k.lower() for k in keywords].count("perfect phylogeny") == 1, keywords
    assert not any(k.endswith((".", ",", ";", ":")) for k in keywords), keywords


# Lines of a real German lecture (beamerexample-lecture-beamer-version.pdf, "Zur Syntax von
# natürlichen Sprachen"); its notes' keywords were "Die, die Menge, Syntax, der, eine, ist".
GERMAN_SLIDES = [
    """Zur Syntax von natürlichen Sprachen.
Die Syntax einer natürlichen Sprache ist die Menge an Regeln, nach denen Sätze gebildet werden dürfen.
Die Bedeutung oder der Sinn der gebildeten Sätze ist dabei unerheblich.
Jede Sprache hat ihre eigene Syntax; die Syntax verschiedener Sprachen ähneln sich aber oft.""",
    """Es ist nicht immer klar, ob eine Regel noch zur Syntax gehört oder ob es schon um den Sinn geht.
Beispiel: Substantive werden groß geschrieben.""",
    """Was ist Semantik? Semantik natürlicher Sprachen. Semantik von Programmiersprachen.
Die Semantik einer Sprache ordnet den Sätzen eine Bedeutung zu.""",
]


def test_a_german_lectures_keywords_are_its_terms_not_its_articles():
    slides = [SlideEntry(i, 10.0 * (i - 1), 10.0 * i, f"slides/{i:03d}.png", f"thumbs/{i:03d}.jpg", text=text)
              for i, text in enumerate(GERMAN_SLIDES, start=1)]
    manifest = Manifest(VideoInfo(30.0, 25.0, 1280, 720, "0" * 64), slides)
    fill_keywords(manifest)
    articles = {"die", "der", "das", "ist", "eine", "ein", "den", "von", "zur", "es", "ob"}
    for keywords in [manifest.keywords] + [s.keywords for s in manifest.slides]:
        assert keywords and not any(set(k.lower().split()) & articles for k in keywords), keywords
    assert "Syntax" in manifest.keywords[:3], manifest.keywords


def test_an_english_talks_language_stays_english():
    assert text_language(SLIDE) == "en"


# A real page whose sentence runs over a line break after "the" (metropolis' demo.pdf, page 26,
# its text as PDFium reads it): its keywords held "the. footer"; a sample lecture's notes had
# "the" among the talk's keywords and "Protein. error" across two lines.
WRAPPED = """Frame footer
metropolis defines a custom beamer template to add a text to the
footer. It can be set via
\\setbeamertemplate{frame footer}{My custom footer}
My custom footer 19"""


def test_a_line_broken_mid_sentence_makes_no_keyword_across_the_break():
    keywords = extract_keywords(WRAPPED, 8)
    assert "Frame footer" in keywords, keywords
    assert not any(". " in k or k.lower() in ("the", "the.") for k in keywords), keywords
