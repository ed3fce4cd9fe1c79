"""The original service's request fields, mapped onto POST /api/jobs (documented in docs/service.md)."""

from __future__ import annotations

from api.errors import problem

RENAMES = {
    "url": "video_url", "source_url": "video_url",
    "enable_ocr": "ocr", "ocr_enabled": "ocr",
    "transcription": "transcribe", "enable_transcription": "transcribe",
    "generate_pdf": "pdf", "generate_notes": "notes", "generate_subtitles": "subtitles",
    "min_duration": "min_slide_duration", "min_scene_duration": "min_slide_duration",
    "keep_animations": "keep_builds",
}


def threshold_to_sensitivity(raw) -> float:
    """`threshold` was a frame-difference threshold: higher means fewer slides. On 0..1 it maps to
    sensitivity = 1 - threshold; values above 1 are read on PySceneDetect's 0..100 scale."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        problem(422, f"threshold must be a number, got {raw!r}", invalid_fields=["threshold"])
    if isinstance(raw, bool) or not 0 <= value <= 100:
        problem(422, f"threshold must be between 0 and 1 (or 0 and 100), got {raw!r}",
                invalid_fields=["threshold"])
    if value > 1:
        value /= 100
    return round(1.0 - value, 4)


def legacy_submission(data: dict) -> dict:
    """Flatten {"options": {...}} and rename the original fields; what is left unknown stays,
    so validation names it."""
    data = dict(data)
    nested = data.pop("options", None) or {}
    if not isinstance(nested, dict):
        problem(422, "options must be an object", invalid_fields=["options"])
    merged = {**nested, **data}
    result = {}
    for name, value in merged.items():
        if name == "threshold":
            result["sensitivity"] = threshold_to_sensitivity(value)
        else:
            result[RENAMES.get(name, name)] = value
    return result
