"""End to end: extract a narrated clip with OCR and transcription on, through the public API."""

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

pytest.importorskip("slidecast.pipeline")

from slidecast import ExtractOptions, Manifest, extract  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data
TRUTH = json.loads((DATA / "narrated.mp4.truth.json").read_text())["slides"]


def test_narrated_clip_gives_titles_aligned_transcript_and_all_documents(tmp_path):
    stages = []
    manifest = extract(DATA / "narrated.mp4", tmp_path, ExtractOptions(transcribe=True),
                       lambda stage, fraction, message: stages.append((stage, fraction)))
    assert [s.title for s in manifest.slides] == [t["title"] for t in TRUTH]
    assert manifest.title == "Gradient Descent"
    # Each slide's transcript is what was spoken while it was shown; the recogniser is told the
    # slides' words (OCR is on), and terms of the slides are what it hears.
    for slide, word in zip(manifest.slides, ("gradient", "learning", "stop")):
        assert word in slide.transcript.split()
    assert "learning" not in manifest.slides[0].transcript + manifest.slides[2].transcript
    assert manifest.artifacts == {"pdf": "slides.pdf", "markdown": "notes.md",
                                  "srt": "transcript.srt", "vtt": "transcript.vtt",
                                  "chapters": "chapters.txt", "chapters_vtt": "chapters.vtt"}
    reloaded = Manifest.load(tmp_path / "manifest.json")
    assert reloaded.slides[1].transcript == manifest.slides[1].transcript
    assert reloaded.slides[0].words and reloaded.slides[0].keywords
    pages = [p.extract_text() for p in PdfReader(tmp_path / "slides.pdf").pages]
    assert [t["title"] in page for t, page in zip(TRUTH, pages)] == [True, True, True]
    for stage in ("ocr", "transcribing", "generating"):
        fractions = [f for s, f in stages if s == stage]
        assert fractions and fractions == sorted(fractions)
