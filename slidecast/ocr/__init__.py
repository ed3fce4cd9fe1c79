"""OCR engines behind one interface, and the chooser.

`get_engine(name)` returns an object with `read(image_path) -> list[Word]`; `page_from_words`
turns those into reading-order lines, text and a title. "auto" picks the default engine, chosen
by measured character error rate and time (docs/benchmarks.md, "OCR and transcription").
"""

from __future__ import annotations

from .base import OcrEngine, PageText, Word, group_lines, page_from_words, title_of
from .rapid import RapidEngine
from .tesseract import TesseractEngine

ENGINES = {"rapid": RapidEngine, "tesseract": TesseractEngine}
# Order of preference for "auto": best measured CER first (see docs/benchmarks.md).
AUTO_ORDER = ("rapid", "tesseract")


def available_engines() -> list[str]:
    return [name for name, cls in ENGINES.items() if cls.available()]


def resolve_engine_name(name: str) -> str:
    """The concrete engine for `name` ("auto" or an engine name); ValueError if not usable here."""
    if name == "auto":
        for candidate in AUTO_ORDER:
            if ENGINES[candidate].available():
                return candidate
        raise ValueError("no OCR engine is installed (need rapidocr-onnxruntime or tesseract)")
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; known: {', '.join(ENGINES)}")
    if not ENGINES[name].available():
        raise ValueError(f"OCR engine {name!r} is not installed on this machine")
    return name


def get_engine(name: str = "auto", threads: int = 1) -> OcrEngine:
    return ENGINES[resolve_engine_name(name)](threads=threads)


__all__ = ["Word", "PageText", "OcrEngine", "get_engine", "resolve_engine_name", "available_engines",
           "page_from_words", "group_lines", "title_of", "ENGINES"]
