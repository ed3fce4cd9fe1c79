"""Publishing a job's results: every output file copied to storage whole, described as
Artifact rows, with Slide rows and the job's JobMetrics, for JobStorageService.succeed."""

from __future__ import annotations

import mimetypes
import zipfile
from pathlib import Path

from infra.extensions import storage
from slidecast.transcribe import ROUGH_ENGINE_FACT, ROUGH_ENGINE_WARNING
from models import Artifact, Job, JobMetrics, Slide, as_utc, utcnow

_KINDS = {"markdown": "notes", "pdf": "pdf", "srt": "srt", "vtt": "vtt"}
_TYPES = {".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".srt": "application/x-subrip; charset=utf-8",
          ".vtt": "text/vtt; charset=utf-8", ".json": "application/json"}


# The library's warning tells a CLI user the option to pass; an API user has no such field: the
# engine is the deployment's setting.
SERVICE_ROUGH_ENGINE_WARNING = (
    f"{ROUGH_ENGINE_FACT}; for a transcript to study from, this service needs a faster-whisper model: "
    "its operator sets the deployment setting SLIDECAST_WHISPER_MODEL to the model's directory (no request "
    "field chooses the engine; docs/content.md)")


def in_service_words(manifest) -> bool:
    """Say the manifest's warnings the way an API user can act on them; True when one changed
    (the manifest file is then to be written again)."""
    worded = [SERVICE_ROUGH_ENGINE_WARNING if w == ROUGH_ENGINE_WARNING else w for w in manifest.warnings]
    changed = worded != manifest.warnings
    manifest.warnings = worded
    return changed


def publish_files(job_id: str, out_dir: Path, out_prefix: str, manifest, work: Path) -> list[Artifact]:
    """Copy every output file to storage (each published whole) and describe it as a row."""
    kinds = {"manifest.json": "manifest", "archive.zip": "archive"}
    kinds.update({rel: _KINDS.get(name, name) for name, rel in manifest.artifacts.items()})
    archive = work / "archive.zip"
    files = sorted(p for p in out_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(out_dir).as_posix())
    rows = []
    for path, rel in [(p, p.relative_to(out_dir).as_posix()) for p in files] + [(archive, "archive.zip")]:
        key = f"{out_prefix}/{rel}"
        size = storage().put_file(key, path)
        kind = kinds.get(rel) or _file_kind(rel)
        rows.append(Artifact(job_id=job_id, kind=kind, key=key, size=size, content_type=_content_type(path)))
    return rows


def _file_kind(rel: str) -> str:
    if rel.startswith("slides/"):
        return "image"
    if rel.startswith("thumbs/"):
        return "thumbnail"
    return "file"


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def slide_rows(job_id: str, manifest, out_prefix: str) -> list[Slide]:
    return [Slide(job_id=job_id, index=s.index, start=s.start, end=s.end, same_as=s.same_as, title=s.title,
                  text=s.text, transcript=s.transcript, keywords=list(s.keywords), deck_page=s.deck_page,
                  image_key=f"{out_prefix}/{s.image}", thumbnail_key=f"{out_prefix}/{s.thumbnail}")
            for s in manifest.slides]


def result_values(manifest) -> dict:
    """What a succeeded job records of its manifest: `slide_count` the distinct slides (the pages
    of its PDF and PPTX), `appearance_count` the manifest's timeline entries (a return to an
    earlier slide is one more appearance, not one more slide), the video's duration and hash,
    and the warnings."""
    return {"slide_count": len(manifest.distinct()), "appearance_count": len(manifest.slides),
            "duration": manifest.video.duration, "video_sha256": manifest.video.sha256,
            "warnings": list(manifest.warnings)}


def metrics_row(job: Job, manifest, elapsed: float) -> JobMetrics:
    started = as_utc(job.started_at) or utcnow()
    duration = manifest.video.duration
    return JobMetrics(job_id=job.id, stage_seconds=dict(manifest.timings), total_seconds=round(elapsed, 3),
                      queue_seconds=round((started - as_utc(job.created_at)).total_seconds(), 3),
                      video_duration=duration, speed=round(duration / elapsed, 3) if elapsed > 0 else None)
