"""Small hand-made PDFs that are hostile to a renderer (the trial's decks): each is a few hundred
bytes to a few tens of KB and costs a reader pixels, seconds or a loop."""

from __future__ import annotations

import zlib


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of `objects` (numbered from 1, the first the catalog) with a correct xref table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def page_of_size(width: float, height: float) -> bytes:
    """One empty page of `width` x `height` points (20 x 14400: a 330-byte memory bomb)."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] >>" % (width, height)])


def page_tree_loop() -> bytes:
    """A page tree whose only kid is itself: the count says 1 page, no page can be loaded."""
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


def heavy_pages(pages: int, megabytes: float) -> bytes:
    """`pages` pages sharing one content stream of `megabytes` MB of line drawing, compressed to
    a few KB: each page parses the whole stream again."""
    content = b"0 0 m 500 700 l S\n" * int(megabytes * 2**20 / 18)
    stream = zlib.compress(content, 9)
    kids = b" ".join([b"3 0 R"] * pages)
    return pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"])
