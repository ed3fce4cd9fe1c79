"""The public output format: OUTDIR/manifest.json (docs/architecture.md; the JSON Schema below is the contract).

`Manifest` is what `extract` returns and what is written to disk; `MANIFEST_SCHEMA` is the JSON
Schema that every written manifest must satisfy (the tests and the service validate against it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jsonschema

MANIFEST_VERSION = 1


@dataclass
class VideoInfo:
    duration: float
    fps: float
    width: int
    height: int
    sha256: str
    has_audio: bool = False


@dataclass
class SlideEntry:
    """One appearance of a slide on the timeline (times in seconds)."""

    index: int
    start: float
    end: float
    image: str
    thumbnail: str
    same_as: int | None = None
    text: str = ""
    transcript: str = ""
    keywords: list[str] = field(default_factory=list)
    title: str = ""
    # Time of the frame chosen to represent the slide.
    frame_time: float = 0.0
    # Word boxes from OCR: [{"text", "box": [x0, y0, x1, y1] in image pixels, "confidence",
    # "chrome", "live"}]; chrome words (navigation bars, running headers, page numbers) and live
    # words (in or at the edge of a live region) are not in text.
    words: list[dict] = field(default_factory=list)
    # The page of the deck given with --deck shown by this appearance (1-based), else None.
    deck_page: int | None = None
    # Parts of the image that change on their own while this appearance is on screen (a webcam
    # tile on the slide, a playing video) or that --ignore masks: [[x0, y0, x1, y1], ...] in
    # image pixels.
    live_regions: list[list[int]] = field(default_factory=list)
    # This appearance only adds content to the one before it (a build step: a bullet revealed),
    # kept as a slide of its own because builds are kept (--keep-builds, or a deck given).
    build_step: bool = False


@dataclass
class Manifest:
    video: VideoInfo
    slides: list[SlideEntry] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    title: str = ""
    keywords: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    # What the user should know about this result (e.g. a deck that is likely not the talk's).
    warnings: list[str] = field(default_factory=list)
    version: int = MANIFEST_VERSION

    def distinct(self) -> list[SlideEntry]:
        """First appearances only, in time order."""
        return [s for s in self.slides if s.same_as is None]

    def slide_numbers(self) -> dict[int, int]:
        """Appearance index -> the number of the slide it shows: that slide's place among the
        distinct slides (a return has the number of the slide it returns to). What the documents
        say: the PDF's page and outline, the notes' headings, the PPTX's slide and its notes all
        count 1, 2, 3 (the timeline's `index`, the API's /slides/N and slides/NNN.png, counts
        appearances: after a return, they run ahead; docs/content.md "Numbering")."""
        places = document_numbers(self.distinct())
        return {s.index: places[s.same_as or s.index] for s in self.slides}

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        validate(data)
        slides = [SlideEntry(**s) for s in data["slides"]]
        known = {k: data[k] for k in ("artifacts", "timings", "title", "keywords", "options", "warnings", "version") if k in data}
        return cls(video=VideoInfo(**data["video"]), slides=slides, **known)

    @classmethod
    def load(cls, path: str | Path) -> "Manifest":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def document_numbers(pages: list[SlideEntry]) -> dict[int, int]:
    """Appearance index -> the place (from 1) of the page that shows its slide in a document of
    `pages` (every appearance, or first appearances only): a return has its first page's place."""
    places = {page.index: place for place, page in enumerate(pages, start=1)}
    return {page.index: places.get(page.same_as, places[page.index]) for page in pages}


_NUM = {"type": "number", "minimum": 0}

MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["video", "slides", "artifacts", "timings"],
    "properties": {
        "version": {"type": "integer"},
        "title": {"type": "string"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "options": {"type": "object"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "video": {
            "type": "object",
            "required": ["duration", "fps", "width", "height", "sha256"],
            "properties": {
                "duration": _NUM,
                "fps": _NUM,
                "width": {"type": "integer", "minimum": 1},
                "height": {"type": "integer", "minimum": 1},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "has_audio": {"type": "boolean"},
            },
        },
        "slides": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "start", "end", "image", "thumbnail", "same_as", "text",
                             "transcript", "keywords"],
                "properties": {
                    "index": {"type": "integer", "minimum": 1},
                    "start": _NUM,
                    "end": _NUM,
                    "image": {"type": "string", "pattern": r"^slides/\d{3,}\.png$"},
                    "thumbnail": {"type": "string", "pattern": r"^thumbs/\d{3,}\.jpg$"},
                    "same_as": {"type": ["integer", "null"], "minimum": 1},
                    "text": {"type": "string"},
                    "transcript": {"type": "string"},
                    "keywords": {"type": "array", "items": {"type": "string"}},
                    "title": {"type": "string"},
                    "frame_time": _NUM,
                    "words": {"type": "array", "items": {"type": "object"}},
                    "deck_page": {"type": ["integer", "null"], "minimum": 1},
                    "live_regions": {"type": "array", "items": {
                        "type": "array", "items": {"type": "integer", "minimum": 0},
                        "minItems": 4, "maxItems": 4}},
                    "build_step": {"type": "boolean"},
                },
            },
        },
        "artifacts": {"type": "object", "additionalProperties": {"type": "string"}},
        "timings": {"type": "object", "additionalProperties": _NUM},
    },
}


def validate(data: dict) -> None:
    """Raise jsonschema.ValidationError if `data` is not a valid manifest."""
    jsonschema.validate(data, MANIFEST_SCHEMA)
    for pos, slide in enumerate(data["slides"], start=1):
        if slide["index"] != pos:
            raise jsonschema.ValidationError(f"slide {pos} has index {slide['index']}")
        if slide["end"] < slide["start"]:
            raise jsonschema.ValidationError(f"slide {pos} ends before it starts")
