"""OCR benchmark: character error rate and seconds per slide, per engine and video variant.

    python bench/ocr_bench.py [--variants cuts,noise,camera] [--engines rapid,tesseract]
    python bench/ocr_bench.py --size 640x360      # the unit tests' 30-s clips at 360p instead
    python bench/ocr_bench.py --analysis bench/videos/long20.mp4   # OCR time vs extraction time
    python bench/ocr_bench.py --engines rapid,rapid-stock   # ours vs rapidocr's own sizes, side by side
    python bench/ocr_bench.py --engines rapid,rapid-stock,rapidocr3   # with `rapidocr` 3.x installed beside

Each variant is the bench video bench/videos/NAME.mp4 (python bench/make_videos.py, 1280x720)
when it exists, else a synthetic clip of that name rendered at --size; the frame showing each
slide's fullest state is decoded and OCR'd, as the pipeline does. CER = edit distance / truth
length over the slide's words, compared in sorted order: the truth lists a figure's labels after the bullets while reading order puts them
beside the bullets they face, and that choice of order is not a recognition error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slidecast.ocr import available_engines, get_engine, page_from_words  # noqa: E402
from slidecast.synthetic import make_clip  # noqa: E402

VIDEO_DIR = Path(__file__).resolve().parent / "videos"


def edit_distance(a, b) -> int:
    """Levenshtein distance of two sequences (characters of strings, or lists of words)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def normalise(text: str) -> str:
    return " ".join(sorted(text.split()))


def cer(truth: str, found: str) -> tuple[int, int]:
    """(errors, truth characters) so rates can be pooled over slides."""
    t, f = normalise(truth), normalise(found)
    return edit_distance(t, f), max(1, len(t))


def slide_frames(video: Path, truth: dict, out_dir: Path) -> list[tuple[Path, str]]:
    """PNG of each first appearance's fullest state, with that slide's true text.

    The frame is taken 0.8 s before the appearance ends (or at its middle for short ones): by
    then every build step is shown, as in the picture the pipeline keeps, and a crossfade into
    the next slide (at most 0.6 s each side of the change) has not begun.
    """
    wanted = {}
    for app in truth["appearances"]:
        if app["same_as_appearance"] is None:
            wanted[max((app["start"] + app["end"]) / 2, app["end"] - 0.8)] = str(app["slide_id"])
    out = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time)
            for mid in [m for m in wanted if t >= m]:
                sid = wanted.pop(mid)
                path = out_dir / f"{video.stem}-{sid}.png"
                frame.to_image().save(path)
                out.append((path, truth["slides"][sid]["text"]))
    return out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (tesseract runs as a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def source_video(variant: str, size: tuple[int, int] | None, tmp: Path) -> tuple[Path, dict]:
    bench_video = VIDEO_DIR / f"{variant}.mp4"
    truth_file = Path(f"{bench_video}.truth.json")
    if size is None and truth_file.exists():
        return bench_video, json.loads(truth_file.read_text())
    video = tmp / f"{variant}.mp4"
    width, height = size or (1280, 720)
    return video, make_clip(variant, video, width=width, height=height)


class RapidOcr3:
    """`rapidocr` 3.x (the successor of rapidocr-onnxruntime) as it comes: its default models
    (PP-OCRv6 small, inside the wheel), no angle classifier, one onnxruntime thread. Only for
    deciding whether to move to it (docs/dependencies.md); words are its lines split evenly."""

    name = "rapidocr3"

    def __init__(self):
        from rapidocr import RapidOCR

        self._ocr = RapidOCR(params={"Global.use_cls": False, "Global.log_level": "warning",
                                     "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                                     "EngineConfig.onnxruntime.inter_op_num_threads": 1})

    def read(self, image_path: Path) -> list:
        from slidecast.ocr.rapid import _split_evenly

        result = self._ocr(str(image_path))
        return [word for quad, text, score in zip(result.boxes if result.boxes is not None else [],
                                                  result.txts or (), result.scores or ())
                for word in _split_evenly(quad, text, float(score))]


def bench_engine(name: str):
    """An engine by name; "rapid-stock" is rapid with rapidocr's own detection size (short side
    736 px), recognition batches (6 lines padded to the widest), its models as exported and no
    memory arena, every line read at full height: the settings before tuning, kept so old and
    new can be compared in one run; "rapid-full" is rapid reading every line at the model's full
    height (no quick first read); "rapid-unfused" is rapid-full on the models as exported
    (fuse.py off), arena still on."""
    if name == "rapidocr3":
        return RapidOcr3()
    if name not in ("rapid-stock", "rapid-unfused", "rapid-full"):
        return get_engine(name, threads=1)
    from slidecast.ocr.rapid import reopen_sessions
    engine = get_engine("rapid", threads=1)
    engine._ocr.text_rec = engine._ocr.text_rec.inner  # every line at the model's full height
    if name == "rapid-full":
        return engine
    reopen_sessions(engine._ocr, fused=False, arena=name == "rapid-unfused")
    if name == "rapid-stock":
        del engine._ocr.text_det.get_preprocess  # back to rapidocr's class method
        engine._ocr.text_rec.rec_batch_num = 6
    return engine


def run(size: tuple[int, int] | None, variants: list[str], engines: list[str]) -> list[dict]:
    """Print and return CER and wall/CPU seconds per slide for each variant and engine (one
    worker, one thread: the pipeline runs one such worker per core)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for variant in variants:
            video, truth = source_video(variant, size, tmp)
            frames = slide_frames(video, truth, tmp)
            for name in engines:
                engine = bench_engine(name)
                engine.read(frames[0][0])  # warm-up: model load is paid once per process
                errors = chars = 0
                wall, cpus = time.perf_counter(), []
                for path, text in frames:
                    cpu = cpu_seconds()
                    e, c = cer(text, page_from_words(engine.read(path)).text)
                    cpus.append(cpu_seconds() - cpu)
                    errors, chars = errors + e, chars + c
                wall = (time.perf_counter() - wall) / len(frames)
                cpu, median = sum(cpus) / len(frames), statistics.median(cpus)
                rows.append({"variant": variant, "engine": name, "slides": len(frames),
                             "cer": errors / chars, "wall_per_slide": wall, "cpu_per_slide": cpu,
                             "cpu_median": median})
                print(f"{variant:10s} {name:11s} {video.name} slides={len(frames)} "
                      f"CER={100 * errors / chars:5.2f}% wall {wall:.2f} s/slide, "
                      f"cpu {cpu:.2f} s/slide (median {median:.2f})", flush=True)
    return rows


def analysis(video: Path) -> None:
    """Extract `video` with OCR on (no PDF, notes or transcript) and compare the OCR with the
    rest of the extraction (scan, decode, detect, write) in the same run: wall seconds, and CPU
    seconds of this process (all threads), which a busy shared machine distorts far less."""
    from slidecast import ExtractOptions, extract

    marks: dict[str, float] = {}

    def progress(stage: str, fraction: float, message: str) -> None:
        if stage == "ocr":
            marks.setdefault("ocr_start", cpu_seconds())
            if fraction >= 1.0:
                marks["ocr_end"] = cpu_seconds()

    with tempfile.TemporaryDirectory() as out:
        started, cpu = time.perf_counter(), cpu_seconds()
        manifest = extract(video, out, ExtractOptions(pdf=False, notes=False), progress)
        total, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    ocr = manifest.timings.get("ocr", 0.0)
    ocr_cpu = marks["ocr_end"] - marks["ocr_start"]
    slides = len(manifest.distinct())
    print(f"{video.name}: {manifest.video.duration:.0f} s video, {slides} distinct slides; "
          f"extraction without OCR {total - ocr:.1f} s wall / {cpu - ocr_cpu:.1f} s CPU; "
          f"OCR {ocr:.1f} s wall / {ocr_cpu:.1f} s CPU ({ocr_cpu / max(1, slides):.2f} CPU s/slide)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", help="WxH: render the named clips at this size instead")
    parser.add_argument("--variants", default="cuts,noise,camera")
    parser.add_argument("--engines", default=",".join(available_engines()))
    parser.add_argument("--analysis", type=Path, metavar="VIDEO",
                        help="instead: OCR time vs extraction time of one video (e.g. long20)")
    args = parser.parse_args()
    if args.analysis:
        analysis(args.analysis)
        return 0
    size = tuple(int(v) for v in args.size.split("x")) if args.size else None
    run(size, args.variants.split(","), args.engines.split(","))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
