"""The command line: success, JSON mode, and one clear line plus an exit code per bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest


from slidecast.cli import UsageError
from slidecast.deck import DeckError
from slidecast.errors import (CorruptVideo, InputNotFound, InvalidOptions, NotAVideo, NoVideoStream,
                             OutputNotWritable)
from slidecast.output.manifest import validate
from slidecast.video import remux

FAST = ["--no-ocr", "--no-pdf", "--no-notes", "--no-subtitles"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "slidecast", "extract", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def assert_one_clear_line(result, error_class, *words):
    assert result.returncode == error_class.exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slidecast: error: ") and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def audio_only(tmp_path):
    path = tmp_path / "speech.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(20):
            samples = (np.sin(np.arange(1024) * 0.05) * 0.3).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_success_exits_zero_and_json_mode_prints_the_manifest(engine_clip, tmp_path):
    video, truth = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    validate(data)
    assert len(data["slides"]) == len(truth["appearances"])
    assert (tmp_path / "out" / "manifest.json").exists()


def test_an_mpegts_recording_gets_the_slide_times_of_the_same_video_in_mp4(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    stream = tmp_path / "lecture.ts"
    remux(video, stream, "mpegts")
    starts = {}
    for path in (video, stream):
        result = run_cli(path, "--out", tmp_path / path.suffix[1:], "--json", *FAST)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        starts[path.suffix] = [slide["start"] for slide in data["slides"]]
        sha256 = data["video"]["sha256"]
    # Seeking in the .ts itself found 3 of the 4 changes 1-2 s early; the hash is the file's own.
    assert len(starts[".ts"]) == len(starts[".mp4"]) == 5
    assert all(abs(a - b) <= 0.1 for a, b in zip(starts[".ts"], starts[".mp4"])), starts
    assert sha256 == hashlib.sha256(stream.read_bytes()).hexdigest()


def test_quiet_mode_prints_nothing(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--quiet", "--keep-builds", "--sensitivity", "0.6",
                     "--min-duration", "0.5", "--ignore", "0.8,0.7,0.2,0.3", *FAST)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_summary_line_counts_in_plain_english(tmp_path, engine_clip):
    video = tmp_path / "one-slide.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 180))
    page = np.full((180, 320, 3), 255, np.uint8)
    cv2.putText(page, "Only slide", (40, 100), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    for _ in range(30):
        writer.write(page)
    writer.release()
    result = run_cli(video, "--out", tmp_path / "out", *FAST)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"1 slide written to {tmp_path / 'out'}"
    # Slides 1, 2, 3, 2, 4, 1: four slides as the PDF counts them (and the service's
    # slide_count), six appearances on the timeline; it said "6 slides (4 distinct)".
    result = run_cli(engine_clip("return")[0], "--out", tmp_path / "returns", *FAST)
    assert result.stdout.strip() == f"4 slides (6 appearances) written to {tmp_path / 'returns'}"


def test_an_engine_chosen_for_a_stage_that_is_off_is_named_in_a_warning(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--transcribe-engine", "whisper:/nowhere", *FAST)
    assert result.returncode == 0, result.stderr
    assert "slidecast: warning: --transcribe-engine has no effect without --transcribe" in result.stderr


def test_missing_file(tmp_path):
    result = run_cli(tmp_path / "nowhere.mp4", "--out", tmp_path / "out")
    assert_one_clear_line(result, InputNotFound, "not found", "nowhere.mp4")


def test_text_file_renamed_to_mp4(tmp_path):
    fake = tmp_path / "lecture.mp4"
    fake.write_text("these are my notes, not a video\n" * 20)
    result = run_cli(fake, "--out", tmp_path / "out")
    assert_one_clear_line(result, NotAVideo, "not a video")


def test_an_empty_file_is_called_empty(tmp_path):
    # A download or copy that failed half way leaves 0 bytes: "unrecognised format" sent the
    # user looking for a codec.
    empty = tmp_path / "lecture.mp4"
    empty.write_bytes(b"")
    result = run_cli(empty, "--out", tmp_path / "out")
    assert_one_clear_line(result, NotAVideo, "not a video", "the file is empty", "lecture.mp4")
    assert "unrecognised format" not in result.stderr


def test_a_file_that_is_no_video_leaves_no_output_folder(tmp_path):
    fake = tmp_path / "lecture.mp4"
    fake.write_text("these are my notes, not a video\n" * 20)
    result = run_cli(fake, "--out", tmp_path / "out")
    assert_one_clear_line(result, NotAVideo, "not a video")
    assert not (tmp_path / "out").exists()


def test_a_failed_run_into_an_existing_folder_leaves_only_what_was_there(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    fake = tmp_path / "lecture.mp4"
    fake.write_text("these are my notes, not a video\n" * 20)
    result = run_cli(fake, "--out", out)
    assert_one_clear_line(result, NotAVideo, "not a video")
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt"]


def test_a_run_that_fails_after_the_slides_are_found_takes_them_back(engine_clip, tmp_path):
    # The notes cannot be written (a folder stands where notes.md goes): the slide images and
    # thumbnails already placed must not stay behind looking like a result.
    video, _ = engine_clip("cuts")
    out = tmp_path / "out"
    (out / "notes.md").mkdir(parents=True)
    result = run_cli(video, "--out", out, "--no-ocr", "--no-pdf", "--no-subtitles")
    assert_one_clear_line(result, OutputNotWritable, "notes.md")
    assert sorted(p.name for p in out.iterdir()) == ["notes.md"]


def test_a_still_picture_is_not_a_video(tmp_path):
    picture = tmp_path / "slide.mp4"
    ok, png = cv2.imencode(".png", np.full((90, 160, 3), 200, np.uint8))
    picture.write_bytes(png.tobytes())
    result = run_cli(picture, "--out", tmp_path / "out")
    assert_one_clear_line(result, NotAVideo, "still image")


def test_audio_only_file(audio_only, tmp_path):
    result = run_cli(audio_only, "--out", tmp_path / "out")
    assert_one_clear_line(result, NoVideoStream, "no video stream")


def test_file_cut_in_half(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    data = video.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    result = run_cli(half, "--out", tmp_path / "out")
    assert_one_clear_line(result, CorruptVideo, "truncated")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bytes_overwritten_in_the_middle(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    data = bytearray(video.read_bytes())
    rng = np.random.default_rng(3)
    start = len(data) // 3
    data[start:start + len(data) // 10] = rng.integers(0, 256, len(data) // 10, dtype=np.uint8).tobytes()
    garbled = tmp_path / "garbled.mp4"
    garbled.write_bytes(bytes(data))
    result = run_cli(garbled, "--out", tmp_path / "out")
    assert_one_clear_line(result, CorruptVideo, "damaged")


def test_output_folder_that_cannot_be_created(engine_clip, tmp_path):
    # Tests run as root, so file permissions would not stop us: a file stands where a folder must.
    video, _ = engine_clip("cuts")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(video, "--out", blocker / "out")
    assert_one_clear_line(result, OutputNotWritable, "output folder")


def test_out_naming_an_existing_file_is_a_usage_error_that_leaves_the_file_alone(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    taken = tmp_path / "deck.txt"
    taken.write_text("mine")
    result = run_cli(video, "--out", taken, *FAST)
    assert_one_clear_line(result, UsageError, f"--out must be a folder; {taken} is a file")
    assert result.returncode == 2 and taken.read_text() == "mine"
    error = json.loads(run_cli(video, "--out", taken, "--json", *FAST).stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("UsageError", 2)


@pytest.mark.parametrize("flags, allowed", [
    (["--sensitivity", "5"], "from 0 to 1"),
    (["--sensitivity", "nan"], "from 0 to 1"),
    (["--min-duration", "-1"], "from 0 to 600"),
    (["--min-duration", "nan"], "from 0 to 600"),  # was taken: nan passed the check "not negative"
    (["--min-duration", "inf"], "from 0 to 600"),  # was taken: one slide, the first screen
    (["--min-duration", "1e9"], "from 0 to 600"),  # was taken; the API refuses more than 600 s
    (["--workers", "-1"], "0 (one per core) or more"),
    (["--workers", "1.5"], "whole number"),
    (["--ignore", "0,0,2,0.5"], "fractions 0..1"),
])
def test_a_numeric_option_out_of_range_is_a_one_line_usage_error_naming_the_range(engine_clip, tmp_path, flags,
                                                                                    allowed):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", *flags, *FAST)
    assert_one_clear_line(result, UsageError, f"argument {flags[0]}: ", allowed, repr(flags[1]))
    assert "usage:" not in result.stderr and not (tmp_path / "out").exists()
    error = json.loads(run_cli(video, "--out", tmp_path / "out", *flags, "--json", *FAST).stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("UsageError", 2) and allowed in error["message"]


def test_an_unknown_option_is_named_even_when_out_is_missing_too(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--bogus")
    assert_one_clear_line(result, UsageError, "unrecognized arguments: --bogus")  # was: "--out" required
    assert_one_clear_line(run_cli(video), UsageError, "required: --out", "slidecast extract --help")


def test_a_misspelt_option_gets_the_closest_one_and_the_commands_own_help(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--transcibe")
    assert_one_clear_line(result, UsageError, "unrecognized arguments: --transcibe",
                          "did you mean --transcribe?", "`slidecast extract --help`")
    assert "did you mean" not in run_cli(video, "--out", tmp_path / "out", "--bogus").stderr


def test_a_pdf_given_as_the_video_is_pointed_to_deck(tmp_path):
    deck = Path(__file__).resolve().parents[1] / "data" / "metropolis" / "demo.pdf"
    result = run_cli(deck, "--out", tmp_path / "out")
    assert_one_clear_line(result, NotAVideo, "not a video", "it is a PDF", "--deck")
    assert not (tmp_path / "out").exists()


def test_an_abbreviated_json_flag_gets_a_usage_error_as_json_too(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--js", "--sensitivity", "5", *FAST)
    error = json.loads(result.stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("UsageError", 2) and "from 0 to 1" in error["message"]


def test_json_mode_reports_an_error_as_json(tmp_path):
    result = run_cli(tmp_path / "nowhere.mp4", "--out", tmp_path / "out", "--json")
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "InputNotFound" and error["exit_code"] == result.returncode == 2


@pytest.mark.parametrize("flags, allowed", [
    (["--ocr-engine", "banana"], "auto, rapid or tesseract"),  # was exit 7, after decoding began
    (["--transcribe-engine", "parrot"], "auto, pocketsphinx, whisper or whisper:/path/to/model"),
])
def test_an_unknown_engine_name_is_a_usage_error_naming_the_engines(engine_clip, tmp_path, flags, allowed):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", *flags)
    assert_one_clear_line(result, UsageError, f"argument {flags[0]}: ", allowed, repr(flags[1]))
    assert result.returncode == 2 and not (tmp_path / "out").exists()


def test_an_engine_that_cannot_run_here_is_refused_before_any_work(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    result = run_cli(video, "--out", tmp_path / "out", "--no-ocr", "--transcribe",
                     "--transcribe-engine", f"whisper:{tmp_path / 'no-model'}")
    assert_one_clear_line(result, InvalidOptions, "whisper needs", "local model directory")
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert not list((tmp_path / "out").glob("slides/*.png"))


# A terminal that reports no size (0x0: a new pty, `script` or `docker run -t` without one) still
# gets the bar, at 80 columns.
@pytest.mark.parametrize("rows_columns", [(40, 120), (0, 0)], ids=["sized", "unsized"])
def test_the_progress_bar_shows_each_stage_on_a_terminal(engine_clip, tmp_path, rows_columns):
    import fcntl
    import os
    import pty
    import struct
    import termios

    video, _ = engine_clip("cuts")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", *rows_columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-m", "slidecast", "extract", str(video), "--out",
                                str(tmp_path / "out"), *FAST], stdout=subprocess.PIPE, stderr=follower,
                               env=environment)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    stdout, _ = process.communicate(timeout=120)
    text = screen.decode(errors="replace")
    assert process.returncode == 0
    assert "decoding" in text and "detecting" in text and "%|" in text
    assert "| ," not in text  # no stray separator before the message
    assert b"slides" in stdout


def test_a_deck_that_is_no_pdf_is_refused_before_any_work(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    deck = tmp_path / "talk.pdf"
    deck.write_text("these are my slides")
    result = run_cli(video, "--out", tmp_path / "out", "--deck", deck)
    assert_one_clear_line(result, DeckError, "talk.pdf", "not a PDF")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_deck_of_another_talk_is_named_in_a_warning_on_stderr_and_in_the_manifest(engine_clip, tmp_path):
    video, _ = engine_clip("cuts")
    deck = Path(__file__).resolve().parents[1] / "data" / "metropolis" / "demo.pdf"
    result = run_cli(video, "--out", tmp_path / "out", "--deck", deck, "--json", *FAST)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert all(s["deck_page"] is None for s in data["slides"])
    assert len(data["warnings"]) == 1 and "the deck matches only 0 of" in data["warnings"][0]
    assert f"slidecast: warning: {data['warnings'][0]}" in result.stderr.splitlines()
