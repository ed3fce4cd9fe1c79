"""Narration: transcribed offline, split over the slides by time, written as SRT and WebVTT."""

import json
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from slidecast import content
from slidecast.output.manifest import Manifest, SlideEntry, VideoInfo
from slidecast.options import ExtractOptions
from slidecast.transcribe.align import make_cues, words_by_range
from slidecast.transcribe.base import Segment, TimedWord
from slidecast.transcribe.whisper import WhisperEngine

DATA = Path(__file__).resolve().parents[1] / "data"  # tests/data
NARRATED = DATA / "narrated.mp4"
TRUTH = json.loads((DATA / "narrated.mp4.truth.json").read_text())["slides"]

SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
VTT_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})"


def seconds(groups) -> float:
    h, m, s, ms = (int(g) for g in groups)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """Strict SubRip: numbered blocks from 1, a timing line, one or more text lines."""
    cues = []
    for number, block in enumerate(text.strip().split("\n\n"), start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), block
        match = re.fullmatch(f"{SRT_TIME} --> {SRT_TIME}", lines[1])
        assert match, lines[1]
        assert len(lines) >= 3 and all(line.strip() for line in lines[2:]), block
        cues.append((seconds(match.groups()[:4]), seconds(match.groups()[4:]), " ".join(lines[2:])))
    return cues


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """Strict WebVTT: "WEBVTT" header, blank line, cues of a timing line and text lines."""
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n"):].strip().split("\n\n"):
        lines = block.split("\n")
        match = re.fullmatch(f"{VTT_TIME} --> {VTT_TIME}", lines[0])
        assert match, lines[0]
        assert len(lines) >= 2 and all(line.strip() and "-->" not in line for line in lines[1:])
        cues.append((seconds(match.groups()[:4]), seconds(match.groups()[4:]), " ".join(lines[1:])))
    return cues


def deck_for(out: Path, times: list[tuple[float, float]]) -> Manifest:
    """A manifest with one blank slide image per time range (the content here is the audio)."""
    from PIL import Image

    (out / "slides").mkdir(parents=True, exist_ok=True)
    slides = []
    for index, (start, end) in enumerate(times, start=1):
        Image.new("RGB", (320, 180), "white").save(out / f"slides/{index:03d}.png")
        slides.append(SlideEntry(index=index, start=start, end=end, image=f"slides/{index:03d}.png",
                                 thumbnail=f"thumbs/{index:03d}.jpg"))
    video = VideoInfo(duration=times[-1][1], fps=10.0, width=320, height=180, sha256="0" * 64)
    return Manifest(video=video, slides=slides)


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("narrated")
    manifest = deck_for(out, [(s["start"], s["end"]) for s in TRUTH])
    stages = []
    options = ExtractOptions(ocr=False, transcribe=True, pdf=False)
    content.run(manifest, out, NARRATED, options, lambda st, fr, msg: stages.append((st, fr)))
    return out, manifest, stages


def test_each_slide_gets_what_was_said_while_it_was_shown(narrated):
    _, manifest, _ = narrated
    transcripts = [s.transcript.lower().split() for s in manifest.slides]
    assert all(transcripts)
    # A word the recogniser gets right on each slide, and it is on that slide only.
    for position, word in enumerate(("welcome", "learning", "becomes")):
        assert word in transcripts[position], transcripts
        assert all(word not in t for k, t in enumerate(transcripts) if k != position)
    assert manifest.timings["transcribe"] >= 0


def test_a_transcript_by_the_bundled_recogniser_comes_with_a_warning_naming_the_better_engine(narrated):
    # No whisper model on the test machine: "auto" fell back to pocketsphinx, and says so.
    if WhisperEngine.available():
        pytest.skip("a whisper model is set up here: auto uses it")
    _, manifest, _ = narrated
    assert any("pocketsphinx" in w and "SLIDECAST_WHISPER_MODEL" in w for w in manifest.warnings), manifest.warnings
    # In the words of the CLI, whose option is --transcribe-engine (not the API's JSON spelling).
    assert any("--transcribe-engine whisper:" in w for w in manifest.warnings), manifest.warnings


def test_notes_say_the_transcript_is_rough_above_what_was_said(narrated):
    if WhisperEngine.available():
        pytest.skip("a whisper model is set up here: auto uses it")
    out, _, _ = narrated
    notes = (out / "notes.md").read_text(encoding="utf-8")
    assert "bundled speech recogniser" in notes
    assert notes.index("bundled speech recogniser") < notes.index("### What was said")


def test_notes_say_what_was_said_on_each_slide(narrated):
    out, manifest, _ = narrated
    notes = (out / "notes.md").read_text(encoding="utf-8")
    assert notes.count("### What was said") == 3
    for slide in manifest.slides:
        assert slide.transcript in notes


def test_subtitle_files_parse_and_their_times_go_forward(narrated):
    out, manifest, _ = narrated
    assert manifest.artifacts["srt"] == "transcript.srt" and manifest.artifacts["vtt"] == "transcript.vtt"
    srt = parse_srt((out / "transcript.srt").read_text(encoding="utf-8"))
    vtt = parse_vtt((out / "transcript.vtt").read_text(encoding="utf-8"))
    assert srt == vtt and len(srt) >= 3
    for start, end, _ in srt:
        assert start < end
    for (_, end, _), (start, _, _) in zip(srt, srt[1:]):
        assert end <= start
    assert srt[-1][1] <= TRUTH[-1]["end"] + 0.5
    # No cue runs across a slide change.
    changes = [s["start"] for s in TRUTH[1:]]
    for start, end, _ in srt:
        assert not any(start < change < end - 0.05 for change in changes), (start, end)


def test_transcribing_progress_goes_forward(narrated):
    _, _, stages = narrated
    fractions = [f for s, f in stages if s == "transcribing"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


# What the fixture's slides show (tests/data/narrated.mp4 is made by bench/asr_bench.py).
SLIDE_TEXT = ["Gradient Descent\nMinimise a loss function\nFollow the negative gradient",
              "The Learning Rate\nStep size of each update\nToo large and it diverges",
              "Convergence\nStop when the gradient is small\nCheck the validation error"]


def word_errors(reference: str, heard: str) -> int:
    """Word edit distance (substitutions, insertions, deletions), lower case, no punctuation."""
    ref, hyp = (re.findall(r"[a-z']+", t.lower()) for t in (reference, heard))
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


def test_told_the_slides_words_the_recogniser_hears_more_of_the_narration(narrated, tmp_path):
    _, without, _ = narrated  # the same clip, no slide text (OCR off)
    manifest = deck_for(tmp_path, [(s["start"], s["end"]) for s in TRUTH])
    for slide, text in zip(manifest.slides, SLIDE_TEXT):
        slide.text = text
    content.run(manifest, tmp_path, NARRATED, ExtractOptions(ocr=False, transcribe=True, pdf=False), None)
    said = " ".join(s["said"] for s in TRUTH)
    errors_with = word_errors(said, " ".join(s.transcript for s in manifest.slides))
    errors_without = word_errors(said, " ".join(s.transcript for s in without.slides))
    assert errors_with < errors_without, (manifest.slides, without.slides)
    assert "gradient" in manifest.slides[0].transcript.split()  # a term of the slide, heard


def silent_video(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((90, 160, 3), 200, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_video_without_audio_gets_no_transcript_and_no_subtitles(tmp_path):
    video = tmp_path / "silent.mp4"
    silent_video(video)
    manifest = deck_for(tmp_path, [(0.0, 1.0)])
    content.run(manifest, tmp_path, video, ExtractOptions(ocr=False, transcribe=True), None)
    assert manifest.slides[0].transcript == ""
    assert "srt" not in manifest.artifacts and "vtt" not in manifest.artifacts
    assert not (tmp_path / "transcript.srt").exists()
    assert manifest.artifacts["markdown"] == "notes.md"
    # Asked for and not made: the user is told why.
    assert manifest.warnings == ["the video has no sound track, so nothing was transcribed (no transcript, no subtitles)"]
    assert "bundled speech recogniser" not in (tmp_path / "notes.md").read_text(encoding="utf-8")


def words(*spec):
    return [TimedWord(text, start, end) for text, start, end in spec]


def test_a_sentence_across_a_slide_change_is_split_word_by_word():
    spoken = words(("first", 8.0, 8.5), ("half", 8.6, 9.9), ("second", 10.1, 10.6), ("half", 10.7, 11.0))
    on_slides = words_by_range(spoken, [(0.0, 10.0), (10.0, 20.0)])
    assert [[w.text for w in ws] for ws in on_slides] == [["first", "half"], ["second", "half"]]
    cues = make_cues([Segment(8.0, 11.0, spoken)], [10.0])
    assert [(c.start, c.end, c.text) for c in cues] == [(8.0, 9.9, "first half"), (10.1, 11.0, "second half")]


def test_speech_before_the_first_or_after_the_last_slide_is_not_lost():
    spoken = words(("early", 0.0, 0.2), ("late", 30.0, 30.4))
    on_slides = words_by_range(spoken, [(0.5, 10.0), (10.0, 29.0)])
    assert [[w.text for w in ws] for ws in on_slides] == [["early"], ["late"]]


def test_long_speech_is_cut_into_readable_cues():
    spoken = words(*[(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(40)])
    cues = make_cues([Segment(0.0, 20.0, spoken)], [])
    assert len(cues) >= 4
    assert all(c.end - c.start <= 6.0 and len(c.text.split()) <= 14 for c in cues)


def test_engine_names_that_cannot_run_here_are_refused_by_name(tmp_path):
    from slidecast.transcribe import get_engine

    with pytest.raises(ValueError, match="whisper"):
        get_engine(f"whisper:{tmp_path / 'no-model'}")  # never downloads a model instead
    with pytest.raises(ValueError, match="unknown transcription engine"):
        get_engine("cloud")
    assert get_engine("auto").name in ("pocketsphinx", "whisper")
