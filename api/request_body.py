"""A request body read in large pieces with as few copies as possible.

Under gunicorn a body read through `wsgi.input` passes through gunicorn's reader buffers
(BytesIO, about three copies of each byte) and werkzeug's LimitedStream (one more); for a 61 MB
upload that was most of the server's time after the SHA-256 (docs/benchmarks.md, "Repeated
upload"). SocketBody reads the same bytes straight from gunicorn's socket into a few reused
buffers, keeping gunicorn's own count of what is left of the body, so keep-alive and error
handling work as if gunicorn had read them. Anywhere else (another server, the test client, a
chunked body) the body is read from werkzeug's stream as before.
"""

from __future__ import annotations

from collections.abc import Iterator

from werkzeug.exceptions import ClientDisconnected

try:  # gunicorn is the production server, not a dependency of every use of the app
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader
except ImportError:  # pragma: no cover
    Body = LengthReader = SocketUnreader = None

READ_SIZE = 1024 * 1024
# A piece handed on stays untouched until the next one is handed on (HashedUpload hashes and
# writes one piece at a time, python-multipart keeps none), so three buffers in turn are enough.
BUFFERS = 3


class SocketBody:
    """The rest of a Content-Length body, read from gunicorn's socket with recv_into."""

    def __init__(self, sock, reader, length: int):
        self._sock, self._reader, self._unreader = sock, reader, reader.unreader
        self._length = length

    @classmethod
    def of(cls, environ: dict, content_length: int | None) -> SocketBody | None:
        """The body of this gunicorn request, when nothing of it was read yet and its length is
        known; else None (read it from werkzeug's stream)."""
        body, sock = environ.get("wsgi.input"), environ.get("gunicorn.socket")
        reader = getattr(body, "reader", None)
        unreader = getattr(reader, "unreader", None)
        # Exactly the gunicorn internals this was written against (gunicorn 27), else no shortcut.
        if (Body is None or sock is None or not content_length or type(body) is not Body
                or type(reader) is not LengthReader or type(unreader) is not SocketUnreader
                or getattr(unreader, "sock", None) is not sock or not hasattr(unreader, "take_buffered")
                or getattr(reader, "length", None) != content_length or _buffered(body)):
            return None
        return cls(sock, reader, content_length)

    def pieces(self) -> Iterator[bytearray]:
        """The body in pieces of READ_SIZE (the last one shorter), each valid until the next but
        BUFFERS - 1 is taken. A body that ends early is ClientDisconnected (400)."""
        buffers = [bytearray(READ_SIZE) for _ in range(min(BUFFERS, -(-self._length // READ_SIZE)))]
        head = self._head()
        turn = 0
        while self._reader.length or head:
            buffer = memoryview(buffers[turn % len(buffers)])
            turn += 1
            filled = len(head)
            buffer[:filled] = head
            head = b""
            while filled < READ_SIZE and self._reader.length:
                got = self._sock.recv_into(buffer[filled:], min(READ_SIZE - filled, self._reader.length))
                if not got:
                    raise ClientDisconnected("the client closed the connection before sending the whole body")
                self._reader.length -= got  # gunicorn's own count: what it drains or refuses later
                filled += got
            # bytes-like with find() (the multipart parser's boundary search): the buffer itself,
            # or a copy of the last, shorter piece
            yield buffer.obj if filled == READ_SIZE else buffer.obj[:filled]

    def _head(self) -> bytes:
        """What gunicorn read past the headers, at most this body; a pipelined next request's
        first bytes go back to gunicorn."""
        head = self._unreader.take_buffered()
        if len(head) > self._reader.length:
            self._unreader.unread(head[self._reader.length:])
            head = head[:self._reader.length]
        self._reader.length -= len(head)
        return head


def _buffered(body) -> bool:
    """Whether gunicorn's Body already holds bytes read by someone (or is not as expected)."""
    buf = getattr(body, "buf", None)
    return buf is None or buf.tell() > 0


def body_pieces(stream) -> Iterator[bytes | bytearray]:
    """The body from a SocketBody, or from any stream READ_SIZE at a time."""
    if isinstance(stream, SocketBody):
        yield from stream.pieces()
        return
    while data := stream.read(READ_SIZE):
        yield data
