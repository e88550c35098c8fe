"""PNG and JPEG: text found by OCR (tesseract, ``chi_sim+eng``) plus PNG text chunks.

OCR is lossy, so an image never passes on OCR alone failing: when tesseract is missing or errors,
the document carries a *review* note instead of silently yielding no text.
"""

from __future__ import annotations

import io
import re
import warnings

from egress_filter.model import Verdict
from egress_filter.readers.base import Document, Note, ReaderError, ReadLimits, TextBlock

# tesseract puts spaces between Han characters and sometimes inside digit runs
_SPACE_BETWEEN_HAN = re.compile(r"(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])")
_SPACE_BETWEEN_DIGITS = re.compile(r"(?<=\d)[ \t](?=\d)")


def read_image(data: bytes, limits: ReadLimits, *, kind: str,
               where: dict | None = None) -> Document:
    """OCR text of one image as a document (``where`` is added to locations, e.g. a cell)."""
    image = open_image(data, limits)
    texts = []
    chunks = _png_text_chunks(image)
    if chunks:
        texts.append(TextBlock(chunks, where={**(where or {}), "part": "png_text_chunk"}))
    notes: list[Note] = []
    if not limits.ocr_enabled:
        notes.append(Note("ocr_disabled", "OCR is disabled by policy; image text was not checked",
                          "策略关闭了 OCR，图片中的文字未检查", Verdict.REVIEW))
    else:
        try:
            texts.append(TextBlock(ocr(image, limits), where={**(where or {}), "part": "ocr"}))
        except Exception as exc:  # TesseractNotFoundError, timeouts, decoder errors
            notes.append(Note(
                "ocr_unavailable",
                f"text in the image could not be read by OCR ({type(exc).__name__}); check it by eye",
                f"无法对图片做文字识别（{type(exc).__name__}），请人工检查",
                Verdict.REVIEW,
            ))
    return Document(kind=kind, texts=texts, notes=notes)


def open_image(data: bytes, limits: ReadLimits):
    """Decode the image fully (so truncation is caught), refusing pixel bombs."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_image_pixels:
                raise ReaderError("too_large",
                                  f"image has {width}x{height} pixels (limit {limits.max_image_pixels})",
                                  f"图片 {width}x{height} 像素，超过上限 {limits.max_image_pixels}")
            image.load()
    except ReaderError:
        raise
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, bomb errors ...
        raise ReaderError("malformed", f"undecodable image: {type(exc).__name__}: {exc}"[:300],
                          f"图片无法解码：{type(exc).__name__}") from exc
    return image


def ocr(image, limits: ReadLimits) -> str:
    """Tesseract OCR with Chinese and English, spaces inside Han and digit runs removed."""
    import pytesseract

    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    raw = pytesseract.image_to_string(image, lang=limits.ocr_lang, timeout=limits.ocr_timeout_s)
    return normalise_ocr(raw)


def normalise_ocr(text: str) -> str:
    text = _SPACE_BETWEEN_HAN.sub("", text)
    return _SPACE_BETWEEN_DIGITS.sub("", text)


def _png_text_chunks(image) -> str:
    info = getattr(image, "text", None) or {}
    return "\n".join(f"{k}: {v}" for k, v in info.items() if isinstance(v, str))
