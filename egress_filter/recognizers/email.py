"""EMAIL_ADDRESS: e-mail addresses (RFC 5321 mailbox, ASCII form), validated offline.

The pattern is ASCII-only and bounded by ASCII classes, so Han characters glued to an address
(``邮箱zhang@example.com谢谢``) stay outside it, unlike Presidio's built-in recognizer. The domain
must end in a public suffix known to tldextract's bundled snapshot; the extractor is built with
``suffix_list_urls=()`` so it never reaches the network (Presidio issue #1205).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tldextract

from egress_filter.recognizers._base import ChinesePatterns, Spec, lazy_recognizer

_LOCAL = r"[A-Za-z0-9._%+-]+"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    import tldextract  # pulls in requests (~60 ms): only when an address is validated

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def has_public_suffix(domain: str) -> bool:
    """Whether ``domain`` ends in a public suffix (offline snapshot)."""
    parts = _extractor()(domain.lower())
    return bool(parts.suffix) and bool(parts.domain)


class EmailPatterns(ChinesePatterns):
    """E-mail addresses with a real public suffix.

    Specs, context words and validators; the Presidio recognizer is :class:`EmailRecognizer`.
    """

    ENTITY = "EMAIL_ADDRESS"
    SPECS = (
        Spec("email", rf"{_LOCAL}@{_DOMAIN}(?:\.{_DOMAIN})*\.[A-Za-z]{{2,24}}", 0.5,
             left="A-Za-z0-9._%+-", right="A-Za-z0-9-"),
    )
    CONTEXT = ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail", "dzyx")
    PREFILTER = r"@"
    COLUMN_SCORE = 1.0
    NEEDS_VALIDATION = True

    def validate_result(self, pattern_text: str) -> bool:
        return has_public_suffix(pattern_text.rsplit("@", 1)[-1])


def __getattr__(attribute: str) -> type:
    """``EmailRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "EmailRecognizer", EmailPatterns)
