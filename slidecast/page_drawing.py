"""Drawing a PDF page within a deadline.

PDFium's plain render cannot be stopped once started, and one page can take minutes: a 28 KB
PDF whose pages share one 10 MB content stream of line strokes draws each page for longer than
300 s. Its progressive render asks, between page objects, whether to pause; it pauses once the
deadline has passed, and the drawing is abandoned there (TooSlow)."""

from __future__ import annotations

import math
import time

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


class TooSlow(Exception):
    """The page was not drawn by its deadline."""


def draw(page: pdfium.PdfPage, scale: float, deadline: float, grayscale: bool = False) -> np.ndarray:
    """`page` drawn at `scale` on white, as page.render() draws it (annotations included): a
    (height, width) grey array, or (height, width, 3) RGB. TooSlow once time.monotonic() passes
    `deadline`."""
    width, height = math.ceil(page.get_width() * scale), math.ceil(page.get_height() * scale)
    bitmap = pdfium.PdfBitmap.new_native(width, height, format=pdfium_c.FPDFBitmap_Gray if grayscale
                                         else pdfium_c.FPDFBitmap_BGR)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
    flags = pdfium_c.FPDF_ANNOT | (pdfium_c.FPDF_GRAYSCALE if grayscale else 0)
    pause = pdfium_c.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: time.monotonic() > deadline)
    try:
        status = pdfium_c.FPDF_RenderPageBitmap_Start(bitmap, page, 0, 0, width, height, 0, flags, pause)
        while status == pdfium_c.FPDF_RENDER_TOBECONTINUED:
            if time.monotonic() > deadline:
                raise TooSlow
            status = pdfium_c.FPDF_RenderPage_Continue(page, pause)
    finally:
        pdfium_c.FPDF_RenderPage_Close(page)
    picture = bitmap.to_numpy()
    return picture if grayscale else picture[..., ::-1].copy()  # BGR -> RGB
