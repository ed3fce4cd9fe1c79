"""The storage key layout of a job, spelled here only:

    jobs/<id>/upload/<name>           the uploaded video
    jobs/<id>/deck/deck.pdf           the talk's deck (PDF) sent with it, if any
    jobs/<id>/out/...                 published outputs (manifest.json, slides/, thumbs/, PDF, ...)
    jobs/<id>/work/input.video        a downloaded video_url, for later steps on other machines
    jobs/<id>/work/extract/...        the extraction step's manifest.json, slides/ and thumbs/
    jobs/<id>/work/ocr.json           OCR results       jobs/<id>/work/transcript.json  transcript
    jobs/<id>/work/chunks/plan.json   a long video's pieces; chunks/NNN/ one piece's extraction

Deleting job_prefix removes everything of a job; work_prefix is removed once the job ends, the
upload and the deck once a cancelled or failed job's steps stopped copying them
(jobs/upload_readers.py); a folder under jobs/ that no job row names, once unchanged for a day
(jobs/recovery.remove_orphans).
"""

from __future__ import annotations


JOBS = "jobs"  # every job's folder is directly under it, named by the job's id


def job_prefix(job_id: str) -> str:
    return f"{JOBS}/{job_id}"


def upload_prefix(job_id: str) -> str:
    return f"{job_prefix(job_id)}/upload"


def upload_key(job_id: str, filename: str) -> str:
    return f"{upload_prefix(job_id)}/{filename}"


def deck_prefix(job_id: str) -> str:
    return f"{job_prefix(job_id)}/deck"


def deck_key(job_id: str) -> str:
    return f"{deck_prefix(job_id)}/deck.pdf"


def out_prefix(job_id: str) -> str:
    return f"{job_prefix(job_id)}/out"


def work_prefix(job_id: str) -> str:
    return f"{job_prefix(job_id)}/work"


def stored_input_key(job_id: str, suffix: str = ".video") -> str:
    return f"{work_prefix(job_id)}/input{suffix}"


def extract_prefix(job_id: str) -> str:
    return f"{work_prefix(job_id)}/extract"


def ocr_key(job_id: str) -> str:
    return f"{work_prefix(job_id)}/ocr.json"


def transcript_key(job_id: str) -> str:
    return f"{work_prefix(job_id)}/transcript.json"


def chunks_prefix(job_id: str) -> str:
    return f"{work_prefix(job_id)}/chunks"


def plan_key(job_id: str) -> str:
    return f"{chunks_prefix(job_id)}/plan.json"


def piece_prefix(job_id: str, index: int) -> str:
    return f"{chunks_prefix(job_id)}/{index:03d}"
