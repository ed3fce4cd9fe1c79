"""Slidecast: lecture and presentation videos in, slide decks out.

The one entry point is `extract(video_path, out_dir, options, progress)`; its output format,
manifest.json, is defined in slidecast/output/manifest.py.
This package knows nothing of the web service or the task queue.
"""

from .errors import (Cancelled, CorruptVideo, InputNotFound, InvalidOptions, NotAVideo, NoVideoStream,
                     OutputNotWritable, SlidecastError)
from .output.manifest import Manifest, SlideEntry, VideoInfo
from .options import ExtractOptions, Region

__all__ = [
    "extract", "ExtractOptions", "Region", "Manifest", "SlideEntry", "VideoInfo",
    "SlidecastError", "InputNotFound", "NotAVideo", "NoVideoStream", "CorruptVideo",
    "OutputNotWritable", "InvalidOptions", "Cancelled",
]


def extract(video_path, out_dir, options=None, progress=None, window=None, sha256=None, meta=None):
    """Run the whole pipeline; see slidecast.pipeline.extract."""
    from .pipeline import extract as _extract

    return _extract(video_path, out_dir, options, progress, window=window, sha256=sha256, meta=meta)
