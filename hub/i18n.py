"""Language choice for messages shown to people (zh-CN first, English second).

Every user-facing message in Enclave carries both languages; this module only decides which one
to show. ``ENCLAVE_LANG`` (``zh`` or ``en``) wins; otherwise the locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``) decides; a locale that is not Chinese shows English.
"""

from __future__ import annotations

import os
from typing import Literal, Protocol

Language = Literal["zh", "en"]


class Bilingual(Protocol):
    zh: str
    en: str


def current_language() -> Language:
    explicit = os.environ.get("ENCLAVE_LANG", "").lower()
    if explicit.startswith("zh"):
        return "zh"
    if explicit.startswith("en"):
        return "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def pick(message: Bilingual, language: Language | None = None) -> str:
    """The message text in ``language`` (default: :func:`current_language`)."""
    return message.zh if (language or current_language()) == "zh" else message.en
