"""RapidOCR engine: PP-OCRv4 detection from rapidocr-onnxruntime's wheel, PP-OCRv6 recognition
from rapidocr 3.x's wheel (PP-OCRv4's when that wheel is absent); nothing is downloaded."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from .base import Word


# Frames are read at about 720 px high: slide body text is then ~30 px, big enough for the
# recogniser, and a 1080p or 4K frame costs no more than a 720p one. A page whose text lines
# still come out under SMALL_LINE_PX is read again enlarged to TARGET_LINE_PX, because the
# recogniser runs English words together on small lines.
WORK_HEIGHT = 720
MIN_SCALE = 0.5
MAX_SCALE = 3.0
SMALL_LINE_PX = 24
TARGET_LINE_PX = 34
# Cost (measured with bench/ocr_bench.py, docs/benchmarks.md): text boxes are found on the
# frame scaled to DETECT_FRACTION of the reading size (544 px of 720), while each line is
# still recognised from the reading-size crop, which is where accuracy comes from; 480 px
# pushed the camera video's CER from 4.9% to 7.7%. Lines are recognised one at a time, so
# each is padded only to rapidocr's minimum of 320 px, not to the widest line of a batch of 6,
# which was a quarter of the recogniser's work. (Dropping the 320 px minimum saved nothing
# measurable and cost the webcam video 0.7 points of CER.)
DETECT_FRACTION = 544 / 720
# Each line is first recognised FAST_HEIGHT px high instead of the model's 48 (0.44 of the
# work), and read again at 48 when the recogniser's confidence is below RECHECK_SCORE: on
# clean lines the quick read is as good, on blurred ones (the filmed-screen video) its
# confidence drops and the full read decides. Heights must be multiples of 16, the model's
# vertical stride: 36 and 40 gave confident wrong reads (camera CER 13-19%).
FAST_HEIGHT = 32
RECHECK_SCORE = 0.95


class RapidEngine:
    """OCR with rapidocr-onnxruntime; nothing is downloaded, the ONNX models are in the wheel.

    `threads` is onnxruntime's intra-op thread count for this engine: with one engine per
    worker, 1 keeps N workers on N cores instead of N x cores threads fighting.
    """

    name = "rapid"

    def __init__(self, threads: int = 1):
        from rapidocr_onnxruntime import RapidOCR

        # The 180-degree classifier costs time and slides are never upside down.
        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, use_cls=False,
                             **latin_recogniser())
        self._ocr.text_det.get_preprocess = _detect_preprocess(self._ocr.text_det)
        self._ocr.text_rec.rec_batch_num = 1
        reopen_sessions(self._ocr, fused=True, arena=True)
        self._ocr.text_rec = TwoHeightRecogniser(self._ocr.text_rec)

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("rapidocr_onnxruntime") is not None

    def read(self, image_path: Path) -> list[Word]:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read image {image_path}")
        scale = min(MAX_SCALE, max(MIN_SCALE, WORK_HEIGHT / image.shape[0]))
        lines, heights = self._read_scaled(image, scale)
        median = heights[len(heights) // 2] if heights else 0.0
        if 0 < median < SMALL_LINE_PX and scale < MAX_SCALE:
            # Small type for its frame: read again larger rather than lose the word spaces.
            lines, _ = self._read_scaled(image, min(MAX_SCALE, scale * TARGET_LINE_PX / median))
        height, width = image.shape[:2]
        return [_clip(word, width, height) for line in lines for word in line]

    def _read_scaled(self, image: np.ndarray, scale: float) -> tuple[list[list[Word]], list[float]]:
        """Words per recognised line (boxes in `image` pixels) and the lines' heights at `scale`."""
        if abs(scale - 1.0) > 0.01:
            interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=interpolation)
        else:
            scale = 1.0
        result, _ = self._ocr(image, use_cls=False, return_word_box=True)
        lines = [_line_words(restore_spaces(image, line), scale) for line in result or []]
        heights = sorted(float(np.ptp(np.asarray(line[0], dtype=float)[:, 1])) for line in result or [])
        return lines, heights


# PP-OCRv4's recogniser (rapidocr-onnxruntime's wheel) has no ö, Ä, Ö or ß and no Italian grave
# accents: "natürlicher" came out "natuirlicher", "più" as "piu". The PP-OCRv6 small recogniser
# shipped in the wheel of rapidocr 3.x (the same project's successor, never imported here: only
# its model file is used) has them, and read English slides better too (docs/benchmarks.md,
# "Slide text without a deck: the recogniser's alphabet"). Same architecture (PP-LCNetV3, so
# fuse.py applies); its alphabet is in the model's metadata, where rapidocr 1.4 reads it.
LATIN_DISTRIBUTION = "rapidocr"
LATIN_MODEL = "rapidocr/models/PP-OCRv6_rec_small.onnx"


def latin_recogniser() -> dict:
    """rapidocr 1.4's argument for PP-OCRv6's recogniser, or none (PP-OCRv4's) when rapidocr
    3.x is not installed: a partial install still reads slides, only without those letters."""
    try:
        dist = metadata.distribution(LATIN_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return {}
    model = Path(dist.locate_file(LATIN_MODEL))
    return {"rec_model_path": str(model)} if model.is_file() else {}


def reopen_sessions(ocr, fused: bool, arena: bool) -> None:
    """Re-open rapidocr's detection and recognition sessions on the fused models (fuse.py: the
    same results for about a fifth less CPU) and with onnxruntime's CPU memory arena on
    (rapidocr turns it off; detection allocates the same large buffers for every slide, and
    the arena took a third off its CPU for ~36 MB more RSS). Measured in docs/benchmarks.md."""
    import onnxruntime

    from .fuse import fused_model

    for wrapper in (ocr.text_det.infer, ocr.text_rec.session):
        old = wrapper.session
        # A session made from bytes has no path: remember the one rapidocr opened.
        wrapper.model_path = getattr(wrapper, "model_path", None) or old._model_path
        options = old.get_session_options()
        options.enable_cpu_mem_arena = arena
        model = fused_model(wrapper.model_path) if fused else wrapper.model_path
        wrapper.session = onnxruntime.InferenceSession(model, sess_options=options, providers=old.get_providers())


class TwoHeightRecogniser:
    """rapidocr's recogniser called as rapidocr calls it, reading each line at FAST_HEIGHT
    first and again at full height when unsure (see RECHECK_SCORE). `inner` is rapidocr's."""

    def __init__(self, inner):
        self.inner = inner
        self.full_shape = list(inner.rec_image_shape)
        channels, height, width = self.full_shape
        self.fast_shape = [channels, FAST_HEIGHT, width * FAST_HEIGHT // height]

    def __call__(self, images, return_word_box: bool = False):
        results, seconds = self._read(images, self.fast_shape, return_word_box)
        unsure = [i for i, result in enumerate(results) if result[1] < RECHECK_SCORE]
        if unsure:
            again, more = self._read([images[i] for i in unsure], self.full_shape, return_word_box)
            for i, result in zip(unsure, again):
                results[i] = result
            seconds += more
        return results, seconds

    def _read(self, images, shape, return_word_box):
        self.inner.rec_image_shape = shape  # read by rapidocr's resize_norm_img
        try:
            results, seconds = self.inner(images, return_word_box)
        finally:
            self.inner.rec_image_shape = self.full_shape
        return list(results), seconds


def _detect_preprocess(detector):
    """rapidocr's detector resizes by its own table (never below 736 px on the short side);
    this makes it detect on the image scaled by DETECT_FRACTION instead. Boxes still come back
    in the caller's image pixels: rapidocr maps them back from the detection map's size."""
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    def preprocess(max_side: int) -> DetPreProcess:
        return DetPreProcess(int(round(max_side * DETECT_FRACTION)), "max", detector.mean, detector.std)

    return preprocess


def restore_spaces(image: np.ndarray, line: list) -> list:
    """Put back word spaces the recogniser dropped, where the picture shows a word gap.

    PP-OCR's recogniser often runs English words together on small text ("Eachvariablestores").
    Between two characters it did not separate, a blank column run wider than GAP_OF_HEIGHT of
    the line's height, and clearly wider than the line's typical letter gap, is a word space.
    """
    if len(line) < 5 or not line[3] or len(line[3]) != len(line[4]):
        return line
    gaps = _blank_runs(image, line[0])
    if not gaps:
        return line
    centres = [float(np.mean(np.asarray(q, dtype=float)[:, 0])) for q in line[3]]
    chars, quads, scores = [], [], []
    char_scores = line[5] if len(line) > 5 else [line[2]] * len(line[4])
    for i, (char, quad, score) in enumerate(zip(line[4], line[3], char_scores)):
        if i and not char.isspace() and not chars[-1].isspace() and \
                any(centres[i - 1] < g < centres[i] for g in gaps):
            chars.append(" ")
            quads.append(quad)
            scores.append(score)
        chars.append(char)
        quads.append(quad)
        scores.append(score)
    return [line[0], "".join(chars), line[2], quads, chars, scores]


GAP_OF_HEIGHT = 0.22
GAP_OF_LETTER_GAP = 1.8


def _blank_runs(image: np.ndarray, quad) -> list[float]:
    """x centres (image pixels) of ink-free column runs wider than a word gap inside `quad`."""
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    x0, y0 = np.maximum(pts.min(axis=0).astype(int), 0)
    x1, y1 = pts.max(axis=0).astype(int)
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return []
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark = binary == 0
    ink = dark if dark.sum() < dark.size / 2 else ~dark  # text is the minority colour
    blank = ~ink.any(axis=0)
    runs, start = [], None
    for x, empty in enumerate(blank):
        if empty and start is None:
            start = x
        elif not empty and start is not None:
            if start > 0:  # a run touching the crop's left edge is padding, not a gap
                runs.append((start, x))
            start = None
    if not runs:
        return []
    widths = sorted(end - begin for begin, end in runs)
    min_gap = max(GAP_OF_HEIGHT * (y1 - y0), GAP_OF_LETTER_GAP * widths[len(widths) // 2])
    return [x0 + (begin + end) / 2 for begin, end in runs if end - begin >= min_gap]


def _line_words(line: list, scale: float = 1.0) -> list[Word]:
    """Split one recognised line into words, using per-character boxes when the model gave them.

    Boxes are divided by `scale` so they are in the original image's pixels.
    """
    words = _split_line(line)
    if scale == 1.0:
        return words
    return [Word(w.text, tuple(int(round(v / scale)) for v in w.box), w.confidence) for w in words]


def _split_line(line: list) -> list[Word]:
    quad, text, score = line[0], line[1], float(line[2])
    char_quads = line[3] if len(line) > 3 else None
    char_scores = line[5] if len(line) > 5 else None
    chars = line[4] if len(line) > 4 else None
    if not char_quads or not chars or len(chars) != len(char_quads):
        return _split_evenly(quad, text, score)
    words, current = [], []
    for char, cquad, cscore in zip(chars, char_quads, char_scores or [score] * len(chars)):
        if char.isspace():
            words.append(current)
            current = []
        else:
            current.append((char, _bbox(cquad), float(cscore)))
    words.append(current)
    return [_join_chars(chars_) for chars_ in words if chars_]


def _join_chars(chars: list[tuple[str, tuple, float]]) -> Word:
    boxes = [c[1] for c in chars]
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return Word("".join(c[0] for c in chars), box, min(c[2] for c in chars))


def _split_evenly(quad, text: str, score: float) -> list[Word]:
    """No character boxes: share the line box among the words by character count."""
    x0, y0, x1, y1 = _bbox(quad)
    tokens = text.split()
    total = max(1, len(text))
    words, pos = [], 0
    for token in tokens:
        start = text.index(token, pos)
        pos = start + len(token)
        left = x0 + (x1 - x0) * start / total
        right = x0 + (x1 - x0) * pos / total
        words.append(Word(token, (int(left), y0, int(round(right)), y1), score))
    return words


def _clip(word: Word, width: int, height: int) -> Word:
    """Detection boxes are padded and may poke past the picture's edge; callers get pixels."""
    x0, y0, x1, y1 = word.box
    box = (max(0, x0), max(0, y0), min(width, x1), min(height, y1))
    return Word(word.text, box, word.confidence)


def _bbox(quad) -> tuple[int, int, int, int]:
    pts = np.asarray(quad, dtype=float).reshape(-1, 2)
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(round(pts[:, 0].max())), int(round(pts[:, 1].max())))
