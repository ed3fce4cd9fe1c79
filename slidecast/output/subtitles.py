"""SubRip (.srt) and WebVTT (.vtt) text from subtitle cues (see transcribe.align.make_cues)."""

from __future__ import annotations

from ..transcribe.align import Cue


def _clock(seconds: float, separator: str) -> str:
    millis = int(round(max(0.0, seconds) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _clean(text: str) -> str:
    # A blank line ends a cue in both formats, and "-->" would read as a timing line in VTT.
    return " ".join(text.split()).replace("-->", "->")


def to_srt(cues: list[Cue]) -> str:
    """SRT: numbered cues from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, blank line between cues."""
    blocks = [f"{n}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n{_clean(c.text)}\n"
              for n, c in enumerate(cues, start=1)]
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT: `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm`."""
    blocks = [f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{_clean(c.text)}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)
