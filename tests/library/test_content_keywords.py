"""Keywords read like an index: each phrase once, without a sentence's punctuation."""

from slidecast.keywords import extract_keywords

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
