"""Options of one extraction run. Defaults need no tuning."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class Region:
    """A rectangle to ignore, in fractions of the frame (0..1), so it fits any resolution."""

    x: float
    y: float
    w: float
    h: float


@dataclass
class ExtractOptions:
    # 0..1; higher finds smaller changes (a short build line), lower ignores more motion.
    sensitivity: float = 0.5
    # A screen state shorter than this (seconds) is a transition, not a slide.
    min_slide_duration: float = 1.0
    ignore_regions: list[Region] = field(default_factory=list)
    # Keep every step of an incremental build as its own slide.
    keep_builds: bool = False
    ocr: bool = True
    transcribe: bool = False
    pdf: bool = True
    notes: bool = True
    subtitles: bool = True
    # chapters.txt (video-site chapters) and chapters.vtt.
    chapters: bool = True
    # slides.pptx: one PowerPoint slide per distinct slide, text and narration in the notes.
    pptx: bool = False
    # The original deck (a PDF path): appearances get deck_page, documents use its pages.
    deck: str | None = None
    # The PDF holds every appearance instead of the distinct slides.
    pdf_all_appearances: bool = False
    ocr_engine: str = "auto"
    transcribe_engine: str = "auto"
    # Worker threads/processes for OCR; 0 means the machine's cores.
    workers: int = 0

    @property
    def builds_kept(self) -> bool:
        """Whether each build step is a slide of its own: when asked, and always with a deck,
        which has a page for each step (a beamer overlay), so each step can get its own page."""
        return self.keep_builds or bool(self.deck)

    @classmethod
    def from_dict(cls, data: dict | None) -> "ExtractOptions":
        """Build from plain JSON-like data; unknown keys raise ValueError naming them."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown option(s): {', '.join(unknown)}")
        regions = [r if isinstance(r, Region) else Region(**r) for r in data.pop("ignore_regions", [])]
        return cls(ignore_regions=regions, **data)

    def to_dict(self) -> dict:
        return asdict(self)
