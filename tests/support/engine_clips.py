"""Difficulty clips for the engine tests (slidecast.synthetic), made once per test session.

The `engine_clip` fixture reaches every test through pytest_plugins (tests/conftest.py); the
clips are cached here, so every module shares the same files. Content stages (OCR, PDF, notes,
subtitles) are off in `extract_fast`: these tests are about finding slides.
"""

from __future__ import annotations

import pytest

from slidecast.pipeline import extract
from slidecast.synthetic import make_clip

_CLIPS: dict[str, tuple] = {}
ENGINE_ONLY = {"ocr": False, "pdf": False, "notes": False, "subtitles": False, "transcribe": False}


@pytest.fixture(scope="session")
def engine_clip(tmp_path_factory):
    """engine_clip(name) -> (path, truth) of the named difficulty clip (see CLIP_NAMES)."""

    def get(name: str):
        if name not in _CLIPS:
            folder = tmp_path_factory.getbasetemp() / "engine-clips"
            folder.mkdir(exist_ok=True)
            path = folder / f"{name}.mp4"
            _CLIPS[name] = (path, make_clip(name, path))
        return _CLIPS[name]

    return get


def extract_fast(video, out, **options):
    """extract() with the content stages off."""
    return extract(video, out, {**ENGINE_ONLY, **options})


def unmatched(expected: list[float], found: list[float], tolerance: float = 1.0):
    """(missed, extra): one-to-one matching of transition times within `tolerance`, closest first."""
    pairs = sorted((abs(e - f), i, j) for i, e in enumerate(expected) for j, f in enumerate(found)
                   if abs(e - f) <= tolerance)
    used_e, used_f = set(), set()
    for _, i, j in pairs:
        if i not in used_e and j not in used_f:
            used_e.add(i)
            used_f.add(j)
    missed = [e for i, e in enumerate(expected) if i not in used_e]
    extra = [round(f, 2) for j, f in enumerate(found) if j not in used_f]
    return missed, extra
