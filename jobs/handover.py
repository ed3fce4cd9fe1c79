"""What one step of a job leaves in storage for the next (which may run on another machine):
whole files under the job's work folder (jobs/keys.py), the extraction result, the input video."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import slidecast
from infra.extensions import storage
from jobs import keys
from jobs.inputs import input_video
from jobs.progress import reporter
from models import Job
from slidecast.output.manifest import Manifest

EXTRACTION_STAGES = ("downloading", "decoding", "detecting")


def put_tree(folder: Path, prefix: str, names) -> None:
    """Copy `names` (paths relative to `folder`) to storage under `prefix`."""
    for name in names:
        storage().put_file(f"{prefix}/{name}", folder / name)


def fetch_tree(prefix: str, names, folder: Path) -> None:
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        storage().fetch(f"{prefix}/{name}", target)


def put_json(key: str, data, scratch: Path) -> None:
    path = scratch / (Path(key).name + ".tmp")
    path.write_text(json.dumps(data), encoding="utf-8")
    storage().put_file(key, path)


def fetch_json(key: str, scratch: Path):
    path = scratch / (Path(key).name + ".fetched")
    storage().fetch(key, path)
    return json.loads(path.read_text(encoding="utf-8"))


def job_options(job: Job) -> slidecast.ExtractOptions:
    return slidecast.ExtractOptions.from_dict(job.options)


def extraction_only(options: slidecast.ExtractOptions) -> slidecast.ExtractOptions:
    """Find slides and write pictures; the later steps do text, transcript, the deck's alignment
    and documents."""
    return dataclasses.replace(options, ocr=False, transcribe=False, pdf=False, notes=False, subtitles=False,
                               deck=None, keep_builds=options.builds_kept)


def extraction_reporter(job_id: str, bands: dict):
    """Progress of the extraction step (`bands`: jobs/progress.job_bands); the content stages
    extract() runs with everything off (it still names "generating") count as the end of detection."""
    report = reporter(job_id, bands)

    def progress(stage: str, fraction: float, message: str = "") -> None:
        if stage in EXTRACTION_STAGES:
            report(stage, fraction, message)
        else:
            report("detecting", 1.0, "slides found")
    return progress


def extract_names(manifest: Manifest) -> list[str]:
    """Files of an extraction result, relative to its folder."""
    names = ["manifest.json"]
    for slide in manifest.slides:
        names += [slide.image, slide.thumbnail]
    return names


def fetch_extraction(job: Job, folder: Path) -> Manifest:
    """The extraction result (manifest, slide pictures, thumbnails) in `folder`."""
    prefix = keys.extract_prefix(job.id)
    fetch_tree(prefix, ["manifest.json"], folder)
    manifest = Manifest.load(folder / "manifest.json")
    fetch_tree(prefix, extract_names(manifest)[1:], folder)
    return manifest


def stored_video(job: Job, folder: Path, report) -> Path:
    """The file the extraction step read, in `folder`: the upload, or the download it stored."""
    if job.upload_key:
        return input_video(job, folder, report)
    target = folder / "input.video"
    storage().fetch(keys.stored_input_key(job.id), target)
    return target
