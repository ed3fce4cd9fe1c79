"""Uploaded files are written at most once: each multipart file part (parsed by python-multipart)
or raw request body is streamed into a HashedUpload that hashes (SHA-256) what it receives, so a
repeated upload is known by its hash the moment its last byte arrives, without reading the file
again; up to UPLOAD_MEMORY_MB it is held in memory until then, so a repeat never reaches the disk
(docs/benchmarks.md, "Repeated upload")."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from flask import Request, current_app
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser
from werkzeug.datastructures import FileStorage, Headers
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header
from werkzeug.utils import secure_filename

from api.errors import problem
from api.guards import display_name
from api.request_body import SocketBody, body_pieces


# Hashing a piece and writing it run on two of these threads at once (both release the GIL),
# while the request's thread receives and parses the next piece: on two cores a 61 MB upload's
# SHA-256 (~40 ms CPU) and its write or copy hide behind its reception instead of adding up.
_WRITERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="upload-writer")


class HashedUpload:
    """A temporary file (removed when closed, at the end of the request) that hashes every byte
    written to it. `path` and `sha256` are what the submit path needs; the rest is the file's.

    An upload up to `hold_bytes` (UPLOAD_MEMORY_MB) is held in memory until its hash is known: a
    repeat, answered from the hash, is then never written to disk, and a new video is written
    once, after the look-up. A larger one goes to the file as it streams in.

    Each piece is hashed (and written, or copied to memory) on writer threads, one piece in
    flight at a time (so in order); anything that reads the file first waits for the last piece
    (and raises its error) and writes out what was held in memory."""

    def __init__(self, filename: str | None, hold_bytes: int = 0):
        suffix = Path(secure_filename(filename or "")).suffix.lower()[:10]
        self._file = tempfile.NamedTemporaryFile(prefix="slidecast-upload-", suffix=suffix)
        self._hash = hashlib.sha256()
        self._pending: tuple[Future, ...] = ()
        self._held: list[bytes] | None = []  # None once the pieces go to the file
        self._rewound = False
        self._hold_bytes = hold_bytes
        self.size = 0

    def write(self, data: bytes) -> int:
        self._wait()
        self.size += len(data)
        if self._held is not None and self.size <= self._hold_bytes:
            self._pending = (_WRITERS.submit(self._hold, data),)
            return len(data)
        self._spill()
        self._pending = (_WRITERS.submit(self._hash.update, data), _WRITERS.submit(self._file.write, data))
        return len(data)

    def _hold(self, data) -> None:
        piece = bytes(data)  # a copy: the request body's buffers are reused
        self._hash.update(piece)
        self._held.append(piece)

    def _spill(self) -> None:
        """Write what is held in memory to the file; from now on every piece goes there."""
        if self._held is None:
            return
        held, self._held = self._held, None
        for piece in held:
            self._file.write(piece)
        if self._rewound:
            self._file.seek(0)

    def _wait(self) -> None:
        pending, self._pending = self._pending, ()
        for piece in pending:
            piece.result()

    def _complete(self):
        self._wait()
        self._spill()
        return self._file

    @property
    def path(self) -> Path:
        """The file on disk, complete (every piece written and flushed)."""
        self._complete().flush()
        return Path(self._file.name)

    @property
    def sha256(self) -> str:
        self._wait()
        return self._hash.hexdigest()

    def seek(self, offset: int, whence: int = 0) -> int:
        """Back to the start once written (FileStorage's way) needs no file yet."""
        self._wait()
        if self._held is not None and (offset, whence) == (0, 0):
            self._rewound = True
            return 0
        return self._complete().seek(offset, whence)

    def close(self) -> None:
        """Removed on a writer thread: freeing a large file's pages takes milliseconds, and the
        request's files are closed before its answer goes out."""
        try:
            self._wait()
        finally:
            self._held = None
            _WRITERS.submit(self._file.close)

    def __getattr__(self, name):  # read, tell, ...: the temporary file's own, once complete
        return getattr(self._complete(), name)

    def __iter__(self):
        return iter(self._complete())


# The body is read in pieces of 1 MiB (api/request_body.py) and handed to python-multipart, whose
# boundary search (bytes.find) copies nothing: a file part's data reaches the HashedUpload as
# views of the pieces read. werkzeug's own parser copied every byte several times into and out
# of its buffer (bench/upload_parts_bench.py: 70-80 ms CPU for 61 MB, against 15 ms).
# A part's headers (Content-Disposition, Content-Type) are a few hundred bytes, or as long as
# the file name a client sends: up to this many bytes the upload is taken (the name is cut where
# it is stored and shown: api/guards.py), beyond them refused with a 400 that says so.
MAX_PART_HEADER_BYTES = 16 * 1024
# python-multipart refuses a header line over 4 KiB by default, which reached werkzeug as a body
# it could not read and so as an empty form ("no video" for an 8000-character file name): its
# own limit is lifted, the callbacks count (it keeps no header bytes, only hands on slices).
_UNLIMITED = sys.maxsize


class _UploadFormParser(FormDataParser):
    """A body that is no readable multipart is a 400 saying so. (werkzeug's own parser turns it
    into an empty form, which the routes could only answer with "no video".) An empty body is
    an empty form: "no video" is the right answer to it."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        boundary = options.get("boundary", "").encode("latin-1")
        parts = _Parts(self.stream_factory, self.max_form_memory_size, self.max_form_parts, content_length)
        received = False
        try:
            parser = MultipartParser(boundary, parts.callbacks(), max_header_size=_UNLIMITED) if boundary else None
            for data in body_pieces(stream):
                received = received or len(data) > 0
                if parser is None:
                    _unreadable("its Content-Type names no boundary (multipart/form-data; boundary=...)")
                _feed(parser, parts, data, b"\r\n\r\n--" + boundary)
            if received and not parts.complete:
                _unreadable("it ends before its closing boundary (cut short, or its parts are not separated "
                            "by the boundary its Content-Type names)")
        except (FormParserError, UnicodeDecodeError, ValueError) as exc:
            parts.discard()
            _unreadable(f"it does not follow the multipart/form-data format ({exc})")
        except BaseException:
            parts.discard()
            raise
        return stream, self.cls(parts.fields), self.cls(parts.files)


def _unreadable(why: str) -> None:
    problem(400, f"the multipart body could not be read: {why}. Send the whole form again, as a browser "
                 "or `curl -F file=@lecture.mp4` sends it")


def _feed(parser: MultipartParser, parts: _Parts, data: bytes, empty_part: bytes) -> None:
    """Write `data` to the parser. A part with no body at all (its headers' blank line followed at
    once by the next boundary, as werkzeug's test client sends an empty file) is valid multipart
    that python-multipart reads as data running on into the next part: the line break it expects
    is added there. (Not seen when that spot straddles two reads; browsers and curl always send
    the line break.) Their empty part (blank line, line break, boundary) matches one line break
    later, right after the blank line: nothing is added there, or an empty file would be read as
    the 2 bytes of a line break (and refused as a format FFmpeg does not know)."""
    at = data.find(empty_part)
    if at < 0:
        parser.write(data)
        return
    done = 0
    while at >= 0:
        parser.write(data[done:at + 4])
        if parts.awaiting_body and data[max(0, at - 2):at] != b"\r\n":
            parser.write(b"\r\n")
        done = at + 4
        at = data.find(empty_part, done)
    parser.write(data[done:])


class _Parts:
    """python-multipart's callbacks, collecting what werkzeug's parser would: text fields (at
    most max_form_memory_size bytes each) and file parts (a part with a filename) streamed into
    the request's stream_factory. More parts than max_form_parts, or a longer text field, is a 413 naming
    that limit (werkzeug's own 413 says nothing, and was answered as the upload size limit)."""

    def __init__(self, stream_factory, max_field_bytes: int | None, max_parts: int | None, content_length):
        self._stream_factory, self._max_field_bytes, self._max_parts = stream_factory, max_field_bytes, max_parts
        self._content_length = content_length
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []
        self.complete = False
        self.awaiting_body = False  # a part's headers were read, none of its body yet
        self._count = 0

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._header_name,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._end, "on_end": self._finished}

    def _begin(self) -> None:
        self._count += 1
        if self._max_parts is not None and self._count > self._max_parts:
            problem(413, f"the form has more than the {self._max_parts} parts (fields and files) allowed; "
                         "a submission is its video, its deck and a few option fields, a batch at most "
                         "BATCH_MAX videos with them")
        self._headers: list[tuple[str, str]] = []
        self._header_bytes, self._name, self._value = 0, bytearray(), bytearray()

    def _header_name(self, data, start: int, end: int) -> None:
        self._take_header(self._name, data[start:end])

    def _header_value(self, data, start: int, end: int) -> None:
        self._take_header(self._value, data[start:end])

    def _take_header(self, into: bytearray, piece: bytes) -> None:
        self._header_bytes += len(piece)
        if self._header_bytes > MAX_PART_HEADER_BYTES:
            problem(400, f"the file name is too long: a part of the multipart body has headers longer than "
                         f"{MAX_PART_HEADER_BYTES // 1024} KiB; send the file under a shorter name")
        into += piece

    def _header_end(self) -> None:
        self._headers.append((self._name.decode().strip(" \t"), self._value.decode().strip(" \t")))
        self._name, self._value = bytearray(), bytearray()

    def _headers_done(self) -> None:
        self._part_headers = Headers(self._headers)
        self.awaiting_body = True
        if "content-disposition" not in self._part_headers:
            raise ValueError("Missing Content-Disposition header")
        _, extra = parse_options_header(self._part_headers["content-disposition"])
        self._part_name, self._filename = extra.get("name"), extra.get("filename")
        if self._filename is not None:
            self._sink = self._stream_factory(total_content_length=self._content_length,
                                              content_type=self._part_headers.get("content-type"),
                                              filename=self._filename,
                                              content_length=self._part_headers.get("content-length"))
        else:
            self._sink = bytearray()

    def _data(self, data, start: int, end: int) -> None:
        self.awaiting_body = False
        if isinstance(self._sink, bytearray):
            self._sink += data[start:end]
            if self._max_field_bytes is not None and len(self._sink) > self._max_field_bytes:
                problem(413, f"the form field {display_name(str(self._part_name))!r} is larger than the "
                             f"{self._max_field_bytes // 1000} KB a text field may hold; a video goes in a file "
                             "part with a file name (curl -F file=@lecture.mp4, not file=<lecture.mp4)")
        else:  # a piece of the body (kept until written: body_pieces) or python-multipart's bytes
            self._sink.write(memoryview(data)[start:end])

    def _end(self) -> None:
        self.awaiting_body = False
        if isinstance(self._sink, bytearray):
            self.fields.append((self._part_name, self._sink.decode("utf-8", "replace")))
        else:
            self._sink.seek(0)
            self.files.append((self._part_name, FileStorage(self._sink, self._filename, self._part_name,
                                                            headers=self._part_headers)))

    def _finished(self) -> None:
        self.complete = True

    def discard(self) -> None:
        """Remove the temporary files of a body that was refused half way."""
        for _, upload in self.files:
            upload.close()
        sink = getattr(self, "_sink", None)
        if sink is not None and not isinstance(sink, bytearray):
            sink.close()


class UploadRequest(Request):
    """Flask's request whose multipart body is parsed by python-multipart, file parts streamed
    into HashedUploads."""

    form_data_parser_class = _UploadFormParser

    _body_file: HashedUpload | None = None

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return HashedUpload(filename, _hold_bytes())

    @property
    def is_raw_video(self) -> bool:
        """The body is the video itself (curl --data-binary @talk.mp4 -H "Content-Type: video/mp4")."""
        return self.mimetype == "application/octet-stream" or self.mimetype.startswith("video/")

    def body_as_file(self, filename: str) -> FileStorage:
        """The raw body as an uploaded file named `filename`, received as a multipart file part
        is (hashed while it streams in, MAX_CONTENT_LENGTH enforced by werkzeug's stream: 413)
        but with no multipart parse at all. Removed at the end of the request."""
        upload = self._body_file = HashedUpload(filename, _hold_bytes())
        for data in body_pieces(self._get_stream_for_parsing()):
            upload.write(data)
        upload.seek(0)
        return FileStorage(upload, filename=filename, name="file", content_type=self.mimetype)

    def _get_stream_for_parsing(self):
        """gunicorn's socket read directly when it can be (SocketBody), else werkzeug's stream.
        werkzeug's checks come first: `self.stream` refuses a Content-Length above
        MAX_CONTENT_LENGTH (413)."""
        stream = super()._get_stream_for_parsing()
        return SocketBody.of(self.environ, self.content_length) or stream

    def close(self) -> None:
        super().close()
        if self._body_file is not None:
            self._body_file.close()


def _hold_bytes() -> int:
    return current_app.config["UPLOAD_MEMORY_MB"] * 1024 * 1024
