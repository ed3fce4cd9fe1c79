"""Long videos across workers: plan time windows, extract each window, merge (slidecast.chunks).

For a video longer than 1.25 x CHUNK_SECONDS the extraction step (`split`) stores a plan of
pieces, time windows of the one video (nothing is cut or copied); each piece goes to the
extraction queue as slidecast.chunk.extract, which fetches the job's stored video and extracts
its window, so idle workers share one long video; the last piece to finish sends
slidecast.chunk.merge, which writes the same work/extract/ a single run would and hands over to
analysis and transcription. Each piece is a bounded task, so a short job waiting behind a long
one waits for one piece, not the whole video.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import slidecast
from flask import current_app

from celery_config import CHUNK_EXTRACT, CHUNK_MERGE
from jobs import keys
from jobs.dispatch import send
from jobs.handover import (extract_names, extraction_only, extraction_reporter, fetch_json, fetch_tree, job_options,
                           put_json, put_tree, stored_video)
from jobs.progress import GRAPH_ORDER, job_bands
from jobs.scratch import scratch
from jobs.steps import finish_part
from models import Job
from slidecast.chunks import Piece, PieceResult, merge, plan_pieces
from slidecast.output import OutputDir
from slidecast.output.manifest import Manifest, VideoInfo
from slidecast.pipeline import FileHasher
from slidecast.video import probe


def split(job: Job, video: Path, work: Path, report, sha256: str | None = None) -> str:
    """Plan the job's video as pieces (from its duration: nothing is read but the header and
    the hash, unless `sha256` is given), store the plan, send one task per piece."""
    whole = _video_info(video, sha256)
    pieces = plan_pieces(whole.duration, current_app.config["CHUNK_SECONDS"])
    plan = {"video": dataclasses.asdict(whole), "pieces": [dataclasses.asdict(p) for p in pieces]}
    put_json(keys.plan_key(job.id), plan, work)
    report("decoding", 0.0, f"{len(pieces)} chunks")
    for piece in pieces:
        send(CHUNK_EXTRACT, job, job.attempts, piece.index)
    return "split"


def _video_info(video: Path, sha256: str | None = None) -> VideoInfo:
    """What the whole video's manifest says about the file (hash, size, rate, duration)."""
    meta = probe(video)
    return VideoInfo(round(meta.duration, 3), round(meta.fps, 3), meta.width, meta.height,
                     sha256 or FileHasher(video).result(), meta.has_audio)


def extract_piece(job: Job, index: int) -> str:
    """Extract the slides of one piece (a window of the job's video) into work/chunks/NNN/; the
    last piece to finish sends the merge."""
    with scratch("chunk") as tmp:
        folder = Path(tmp)
        plan = fetch_json(keys.plan_key(job.id), folder)
        report = extraction_reporter(job.id, job_bands(job_options(job), plan["video"]["has_audio"], GRAPH_ORDER))
        piece = Piece(**plan["pieces"][index])
        video = stored_video(job, folder, report)
        out = folder / "out"
        options = extraction_only(job_options(job))
        # the split step hashed the file once; a piece need not read all of it again
        manifest = slidecast.extract(video, out, options, progress=report, window=piece.window,
                                     sha256=plan["video"]["sha256"])
        OutputDir(out).write_manifest(manifest)
        put_tree(out, keys.piece_prefix(job.id, index), extract_names(manifest))
    needed = [f"chunk:{p['index']:03d}" for p in plan["pieces"]]
    if finish_part(job.id, job.attempts, f"chunk:{index:03d}", needed):
        send(CHUNK_MERGE, job, job.attempts)
    return "piece extracted"


def merge_pieces(job: Job) -> Manifest:
    """Join the pieces' timelines into work/extract/, as a single extraction would write it; the
    joined manifest."""
    with scratch("merge") as tmp:
        folder = Path(tmp)
        plan = fetch_json(keys.plan_key(job.id), folder)
        results = []
        for data in plan["pieces"]:
            piece = Piece(**data)
            piece_dir = folder / f"{piece.index:03d}"
            fetch_tree(keys.piece_prefix(job.id, piece.index), ["manifest.json"], piece_dir)
            manifest = Manifest.load(piece_dir / "manifest.json")
            fetch_tree(keys.piece_prefix(job.id, piece.index), extract_names(manifest)[1:], piece_dir)
            results.append(PieceResult(manifest, piece_dir, piece))
        out = folder / "out"
        merged = merge(results, VideoInfo(**plan["video"]), out)
        merged.options = job_options(job).to_dict()
        OutputDir(out).write_manifest(merged)
        put_tree(out, keys.extract_prefix(job.id), extract_names(merged))
    return merged
