"""Text encodings we accept: UTF-8 (with or without BOM) and the GB family (GB18030 ⊃ GBK ⊃ GB2312).

Anything else is refused rather than guessed: a wrong guess would hide identifiers from the
detectors (mojibake never matches a resident-ID pattern), which is failing open.
"""

from __future__ import annotations

from charset_normalizer import from_bytes

from egress_filter.readers.base import ReaderError

_GB_FAMILY = ("gb18030", "gbk", "gb2312")
_SAMPLE = 256 * 1024


def detect_encoding(data: bytes) -> str:
    """``utf-8``, ``utf-8-sig`` or ``gb18030``; raises :class:`ReaderError` otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # charset-normalizer judges whether the GB decoding reads as coherent text, not just
    # whether it decodes (almost any byte string decodes as GB18030).
    best = from_bytes(data[:_SAMPLE], cp_isolation=list(_GB_FAMILY)).best()
    if best is not None and best.encoding.replace("_", "") in _GB_FAMILY:
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            pass
        else:
            return "gb18030"
    raise ReaderError(
        "encoding",
        "text is neither UTF-8 nor GB18030/GBK; re-save it as UTF-8",
        "文本编码不是 UTF-8 或 GB18030/GBK，请另存为 UTF-8",
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with."""
    encoding = detect_encoding(data)
    return data.decode(encoding), encoding
