"""A deck page's text layer as placed lines with their type size (for slidecast.titles).

PDFium gives every character its box and font size; characters are joined into lines where
PDFium breaks them (it writes a line break between text runs on different baselines), then
placed in fractions of the page and sorted top to bottom.
"""

from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .titles import Line


def page_lines(page) -> list[Line]:
    """The lines of a pypdfium2 page's text layer, top to bottom (empty for a page without one)."""
    return reading_order(stream_lines(page))


def reading_order(lines) -> list[Line]:
    """`lines` top to bottom, left to right within a row."""
    return sorted(lines, key=lambda line: (round(line.box[1], 3), line.box[0]))


def stream_lines(page) -> list[Line]:
    """The lines of a pypdfium2 page's text layer in the order of its content stream (the order
    of the lines of PDFium's page text)."""
    width, height = page.get_width(), page.get_height()
    textpage = page.get_textpage()
    try:
        runs = _runs(textpage)
    finally:
        textpage.close()
    lines = [_line(run, width, height) for run in runs]
    # Text placed off the page (beamer keeps an overlay's hidden parts there) is not shown.
    return [line for line in lines if line.text and _on_page(line.box)]


def _runs(textpage: pdfium.PdfTextPage) -> list[list[tuple[str, tuple[float, float, float, float], float]]]:
    """Characters (text, box, font size) grouped into PDFium's lines."""
    runs, current = [], []
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if char in "\r\n":
            if current:
                runs.append(current)
            current = []
            continue
        if pdfium_c.FPDFText_IsGenerated(textpage.raw, index) == 1 and char != " ":
            continue  # a hyphen PDFium adds at a line break: the line's own text has none
        box = textpage.get_charbox(index) if char.strip() else None
        current.append((char, box, pdfium_c.FPDFText_GetFontSize(textpage.raw, index)))
    if current:
        runs.append(current)
    return runs


# Characters that only mark a list item when they open a line before a word.
BULLETS = frozenset("•◦▪▫■□▶▷►▸‣⁃➢➤")
# The AMS symbol font (msam7, msam10...): beamer's itemize triangle is its \blacktriangleright,
# which a text layer without a Unicode map gives as the font's own code, "I" ("I First item");
# a check mark as "X". Any one character of it opening a line before a word is a bullet.
BULLET_FONTS = ("MSAM",)


def bullet_starts(page) -> dict[str, list[bool]]:
    """For each character that opens a line of the page's text layer followed by a space, in
    the order of the content, whether it is a list item's bullet: one of BULLETS, or any
    character set in a BULLET_FONTS font, followed by a space and a letter or digit
    ("▶ Taking Fourier", "I First item" in MSAM10; not "· · Γ1" nor the "I" of "I think")."""
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        chars = [chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i)) for i in range(count)]
        starts: dict[str, list[bool]] = {}
        for i in range(count - 2):
            if (i and chars[i - 1] not in "\r\n") or chars[i + 1] != " " or not chars[i].strip():
                continue
            bullet = chars[i + 2].isalnum() and (chars[i] in BULLETS or _font(textpage, i).startswith(BULLET_FONTS))
            starts.setdefault(chars[i], []).append(bullet)
        return starts
    finally:
        textpage.close()


def without_bullets(text: str, starts: dict[str, list[bool]]) -> str:
    """`text` (the page's lines, in the order of its content) with the bullets `bullet_starts`
    found taken from the start of their lines: the n-th line opening with "I " is the n-th such
    line start of the text layer."""
    left = {char: list(flags) for char, flags in starts.items()}
    lines = []
    for line in text.splitlines():
        if len(line) > 2 and line[1] == " " and left.get(line[0]) and left[line[0]].pop(0):
            line = line[2:]
        lines.append(line)
    return "\n".join(lines)


def _font(textpage, index: int) -> str:
    """The name of the font a character is set in, without a subset's "ABCDEF+" prefix."""
    name = ctypes.create_string_buffer(128)
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, name, len(name), None)
    return name.value.decode("latin-1").split("+")[-1].upper()


def _line(run, width: float, height: float) -> Line:
    text = " ".join("".join(c for c, _, _ in run).split())
    boxes = [b for _, b, _ in run if b is not None]
    sizes = sorted(s for c, b, s in run if b is not None and s > 0)
    if not boxes or not sizes:
        return Line("", (0.0, 0.0, 0.0, 0.0), 0.0)
    # PDF boxes are (left, bottom, right, top) with y up from the page's bottom.
    x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    top, bottom = max(b[3] for b in boxes), min(b[1] for b in boxes)
    box = (x0 / width, 1 - top / height, x1 / width, 1 - bottom / height)
    return Line(text, box, sizes[len(sizes) // 2] / height)


def _on_page(box: tuple[float, float, float, float]) -> bool:
    return box[2] > 0 and box[0] < 1 and box[3] > 0 and box[1] < 1
