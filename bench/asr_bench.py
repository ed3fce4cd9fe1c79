"""Transcription benchmark on narrated synthetic clips, and the maker of the narrated fixture.

    python bench/asr_bench.py                      # WER and real-time factor per engine
    python bench/asr_bench.py --make-fixture tests/data/narrated.mp4

Narration is spoken by espeak-ng (apt-get install espeak-ng), one sentence per slide, muxed
with a simple slide video through PyAV. WER = word edit distance / reference words, after
lower-casing and dropping punctuation. espeak-ng's robotic voice is far from a lecturer's, so
the numbers say more about the engine's robustness than about its accuracy on real lectures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_bench import edit_distance  # noqa: E402

from slidecast.synthetic.slides import load_font  # noqa: E402
from slidecast.transcribe import get_engine  # noqa: E402
from slidecast.transcribe.audio import decode_audio  # noqa: E402

FIXTURE_SLIDES = [
    ("Gradient Descent", ["Minimise a loss function", "Follow the negative gradient"],
     "Welcome to this lecture about gradient descent."),
    ("The Learning Rate", ["Step size of each update", "Too large and it diverges"],
     "The step size is called the learning rate."),
    ("Convergence", ["Stop when the gradient is small", "Check the validation error"],
     "We stop when the gradient becomes very small."),
]
BENCH_SENTENCES = [
    "Today we talk about the history of computer networks.",
    "A packet carries data from one machine to another.",
    "Routers decide where each packet goes next.",
    "The transport layer makes delivery reliable.",
    "Congestion control keeps the network from collapsing.",
    "Encryption protects the data while it travels.",
    "The domain name system turns names into addresses.",
    "Thank you for listening and see you next week.",
]
# What a lecturer's slide would show while saying each of BENCH_SENTENCES (title, bullets):
# written with the sentences' topics; 46 of the narration's 62 words (small words like "the"
# included) also stand on a slide. Shown in the clip, and given to the recogniser as its text.
BENCH_SLIDES = [
    ("History of Computer Networks", ["From ARPANET to the Internet", "Today: an overview"]),
    ("Packets", ["A packet carries data", "From one machine to another"]),
    ("Routing", ["Routers forward each packet", "Deciding the next hop"]),
    ("The Transport Layer", ["Reliable delivery", "TCP and UDP"]),
    ("Congestion Control", ["Avoid network collapse", "Slow start and backoff"]),
    ("Encryption", ["Protects data in transit", "TLS"]),
    ("Domain Name System", ["Names into addresses", "Resolvers and caches"]),
    ("Thank You", ["Questions?", "Next week: network security"]),
]
GAP_SECONDS = 0.8  # silence after each sentence, inside its slide
FPS = 10


def speak(text: str, path: Path) -> np.ndarray:
    """espeak-ng's US-English voice saying `text`; int16 mono samples at 22050 Hz."""
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def slide_image(title: str, bullets: list[str], size=(640, 360)) -> np.ndarray:
    image = Image.new("RGB", size, (250, 250, 246))
    draw = ImageDraw.Draw(image)
    draw.text((32, 28), title, font=load_font(36, bold=True), fill=(31, 78, 140))
    for row, bullet in enumerate(bullets):
        draw.text((48, 110 + 44 * row), bullet, font=load_font(24), fill=(25, 25, 30))
    return np.asarray(image)


def make_narrated_clip(slides: list[tuple[str, list[str], str]], path: Path) -> dict:
    """Write an MP4 (H.264 + AAC mono) with one slide per sentence, shown while it is spoken.

    Returns the truth: per slide its start, end, title and spoken text.
    """
    with tempfile.TemporaryDirectory() as tmp:
        voices = [speak(sentence, Path(tmp) / f"{n}.wav") for n, (_, _, sentence) in enumerate(slides)]
    rate = 22050
    gap = np.zeros(int(GAP_SECONDS * rate), dtype=np.int16)
    tracks = [np.concatenate([gap[: rate // 4], v, gap]) for v in voices]
    truth, start = [], 0.0
    for (title, _, sentence), track in zip(slides, tracks):
        end = start + len(track) / rate
        truth.append({"start": round(start, 3), "end": round(end, 3), "title": title, "said": sentence})
        start = end
    _mux(path, [slide_image(t, b) for t, b, _ in slides], truth, np.concatenate(tracks), rate)
    return {"slides": truth, "duration": round(start, 3)}


def _mux(path: Path, images: list[np.ndarray], truth: list[dict], audio: np.ndarray, rate: int) -> None:
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(FPS))
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.options = {"crf": "30", "preset": "veryfast"}
        sound = container.add_stream("aac", rate=rate, layout="mono")
        sound.bit_rate = 32000
        frames = int(truth[-1]["end"] * FPS)
        for i in range(frames):
            slide = next(k for k, s in enumerate(truth) if i / FPS < s["end"] or k == len(truth) - 1)
            frame = av.VideoFrame.from_ndarray(images[slide], format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for offset in range(0, len(audio), 1024):
            chunk = audio[offset:offset + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, offset
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words)."""
    ref = words(reference)
    return edit_distance(ref, words(hypothesis)), max(1, len(ref))


def bench(engines: list[str]) -> None:
    """Each engine without and with the slides' text (what OCR or the deck gives the recogniser)."""
    slides = [(title, bullets, said) for (title, bullets), said in zip(BENCH_SLIDES, BENCH_SENTENCES)]
    slide_text = ["\n".join([title, *bullets]) for title, bullets, _ in slides]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "narrated.mp4"
        truth = make_narrated_clip(slides, clip)
        reference = " ".join(s["said"] for s in truth["slides"])
        for name in engines:
            for label, text in (("", None), ("+slides", slide_text)):
                print(f"{name + label:22s} {measure(clip, reference, name, text)}")


def measure(clip: Path, reference: str, engine: str, slide_text: list[str] | None) -> str:
    """One transcription of `clip`: WER, time (model and slide model built outside it), words."""
    seconds = len(decode_audio(clip)) / 16000
    started = time.perf_counter()
    asr = get_engine(engine, slide_text)
    built = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    segments = asr.transcribe(decode_audio(clip), lambda fraction: None)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    hypothesis = " ".join(s.text for s in segments)
    errors, total = wer(reference, hypothesis)
    return (f"WER={100 * errors / total:5.1f}% ({errors}/{total} words); engine ready in {built:.1f} s; "
            f"{seconds:.1f} s of audio took {took:.1f} s wall, {cpu:.1f} s CPU\n  heard: {hypothesis}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-fixture", type=Path)
    parser.add_argument("--engines", default="pocketsphinx")
    args = parser.parse_args()
    if args.make_fixture:
        truth = make_narrated_clip(FIXTURE_SLIDES, args.make_fixture)
        Path(str(args.make_fixture) + ".truth.json").write_text(json.dumps(truth, indent=1) + "\n")
        print(f"{args.make_fixture}: {truth['duration']} s, {args.make_fixture.stat().st_size} bytes")
        return 0
    bench(args.engines.split(","))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
