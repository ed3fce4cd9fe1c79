"""Uploaded files are written once: werkzeug streams each multipart file part into a temporary
file that hashes (SHA-256) what it writes, so a repeated upload is known by its hash the moment
its last byte arrives, without copying the file or reading it again (docs/benchmarks.md,
"Repeated upload")."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from flask import Request
from werkzeug.utils import secure_filename


class HashedUpload:
    """A temporary file (removed when closed, at the end of the request) that hashes every byte
    written to it. `path` and `sha256` are what the submit path needs; the rest is the file's."""

    def __init__(self, filename: str | None):
        suffix = Path(secure_filename(filename or "")).suffix.lower()[:10]
        self._file = tempfile.NamedTemporaryFile(prefix="slidecast-upload-", suffix=suffix)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    @property
    def path(self) -> Path:
        """The file on disk, complete (buffered bytes are flushed first)."""
        self._file.flush()
        return Path(self._file.name)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name):  # read, seek, close, ...: the temporary file's own
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)


class UploadRequest(Request):
    """Flask's request whose multipart file parts are HashedUploads."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return HashedUpload(filename)
