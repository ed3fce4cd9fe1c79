"""Uploaded files are written once: werkzeug streams each multipart file part into a temporary
file that hashes (SHA-256) what it writes, so a repeated upload is known by its hash the moment
its last byte arrives, without copying the file or reading it again (docs/benchmarks.md,
"Repeated upload")."""

from __future__ import annotations

import hashlib
import io
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from flask import Request
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.utils import secure_filename


# Hashing and writing a piece run on one of these threads while the request's thread receives
# and parses the next piece (both release the GIL): on two cores a 61 MB upload's SHA-256 and
# disk write mostly hide behind its reception.
_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="upload-writer")


class HashedUpload:
    """A temporary file (removed when closed, at the end of the request) that hashes every byte
    written to it. `path` and `sha256` are what the submit path needs; the rest is the file's.

    Pieces are hashed and written in order on a writer thread, one piece in flight at a time;
    anything that reads the file first waits for the last piece (and raises its error)."""

    def __init__(self, filename: str | None):
        suffix = Path(secure_filename(filename or "")).suffix.lower()[:10]
        self._file = tempfile.NamedTemporaryFile(prefix="slidecast-upload-", suffix=suffix)
        self._hash = hashlib.sha256()
        self._pending: Future | None = None
        self.size = 0

    def write(self, data: bytes) -> int:
        self._wait()
        self.size += len(data)
        self._pending = _WRITERS.submit(self._take, data)
        return len(data)

    def _take(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    @property
    def path(self) -> Path:
        """The file on disk, complete (every piece written and flushed)."""
        self._wait()
        self._file.flush()
        return Path(self._file.name)

    @property
    def sha256(self) -> str:
        self._wait()
        return self._hash.hexdigest()

    def __getattr__(self, name):  # read, seek, close, ...: the temporary file's own, once complete
        self._wait()
        return getattr(self._file, name)

    def __iter__(self):
        self._wait()
        return iter(self._file)


# werkzeug reads a multipart body 64 KiB at a time; under gunicorn each such read copies what
# its reader holds ahead (up to 1 MiB), so a 61 MB upload cost ~280 ms of copying. Reads of
# gunicorn's own recv size (1 MiB) copy each byte about twice.
READ_SIZE = 256 * 1024
READ_AHEAD = 1024 * 1024


class _UploadFormParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        # werkzeug's own method (3.1) with the larger reads; it has no setting for them
        parser = MultiPartParser(stream_factory=self.stream_factory, max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls, buffer_size=READ_SIZE)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(io.BufferedReader(_Raw(stream), READ_AHEAD), boundary, content_length)
        return stream, form, files


class _Raw(io.RawIOBase):
    """The WSGI input as a raw stream, for io.BufferedReader to read READ_AHEAD at a time."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class UploadRequest(Request):
    """Flask's request whose multipart file parts are HashedUploads, read in READ_SIZE pieces."""

    form_data_parser_class = _UploadFormParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return HashedUpload(filename)
