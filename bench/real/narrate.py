"""Narrated realism videos, and WER of the recogniser without and with the slides' words.

    python bench/real/narrate.py --dir /work/realbench-data/dev --names talk-cuts \\
        --slides /tmp/features-bench-r3/plain --out /tmp/narrated-real

For each video, espeak-ng (en-us, 150 words a minute) reads, during each appearance that shows
a deck page, the start of that page's body text (pdftotext of the page without the deck's
running lines, as bench/deck_text_bench.py scores it): as many words as fit in the appearance,
for the appearances that start in the first --seconds (90).
The words read are the reference. The video stream is copied as it is (no re-encoding), an AAC
track is added: OUT/NAME.mp4. The recogniser then transcribes it twice: with the bundled model
alone, and told the slides' words: the OCR text of a run of the engine on the same video
(`--slides` holds NAME/manifest.json from bench/deck_text_bench.py), never the deck itself.

The narrator reads the slide, which is the most a slide vocabulary can help; a lecturer who
says other words gains less (the narration bench, bench/asr_bench.py, is the other end).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))
from asr_bench import measure  # noqa: E402
from deck_text_bench import body_text, pdf_pages  # noqa: E402

from slidecast.output.manifest import Manifest  # noqa: E402

RATE = 22050
LEAD = 0.3  # seconds of silence at the start of each appearance


def spoken(text: str, folder: Path) -> np.ndarray:
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def narration(truth: dict, pages: list[str], duration: float, until: float) -> tuple[np.ndarray, list[str]]:
    """The narration track and what it says, per appearance starting before `until` seconds."""
    track = np.zeros(int(duration * RATE) + RATE, dtype=np.int16)
    said = []
    with tempfile.TemporaryDirectory() as tmp:
        for appearance in [a for a in truth["appearances"] if a["start"] < until]:
            page = appearance.get("deck_page")
            words = body_text(pages, page).split() if page else []
            room = appearance["end"] - appearance["start"] - LEAD - 0.4
            count = min(len(words), int(room * 2.5))
            while count > 0:
                voice = spoken(" ".join(words[:count]), Path(tmp))
                if len(voice) / RATE <= room:
                    break
                count -= max(1, count // 5)
            if count <= 0:
                continue
            start = int((appearance["start"] + LEAD) * RATE)
            track[start:start + len(voice)] = voice[:len(track) - start]
            said.append(" ".join(words[:count]))
    return track, said


def mux(video: Path, track: np.ndarray, out: Path) -> None:
    """`video`'s stream copied as is, `track` as an AAC audio stream."""
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        picture = target.add_stream_from_template(source.streams.video[0])
        sound = target.add_stream("aac", rate=RATE, layout="mono")
        sound.bit_rate = 48000
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is None:
                continue
            packet.stream = picture
            target.mux(packet)
        for offset in range(0, len(track), 1024):
            frame = av.AudioFrame.from_ndarray(track[offset:offset + 1024].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = RATE, offset
            target.mux(sound.encode(frame))
        target.mux(sound.encode(None))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--names", required=True, help="comma-separated video names")
    parser.add_argument("--slides", type=Path, required=True, help="folder of NAME/manifest.json (OCR text)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/narrated-real"))
    parser.add_argument("--seconds", type=float, default=90.0,
                        help="narrate the appearances that start before this (the recogniser is slow)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names.split(","):
        video = args.dir / f"{name}.mp4"
        truth = json.loads(Path(f"{video}.truth.json").read_text())
        track, said = narration(truth, pdf_pages(Path(truth["deck"]["file"])), truth["appearances"][-1]["end"],
                                args.seconds)
        narrated = args.out / f"{name}.mp4"
        mux(video, track, narrated)
        manifest = Manifest.load(args.slides / name / "manifest.json")
        text = [s.text for s in manifest.distinct() if s.text]
        reference = " ".join(said)
        print(f"{name}: {len(said)} appearances read, {len(reference.split())} words; "
              f"slide text from OCR of {len(text)} slides", flush=True)
        for label, slide_text in (("pocketsphinx", None), ("pocketsphinx+slides", text)):
            print(f"  {label:22s} {measure(narrated, reference, 'pocketsphinx', slide_text)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
