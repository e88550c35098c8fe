"""Recognizers for personal information in Chinese public data, one identifier per module.

Each is a Presidio recognizer (``supported_language`` ``zh`` or ``en``) with its standard named in
its docstring, context words in both languages, and checksum validation where one exists.

Importing Presidio costs over a second, and tables never need it: each module keeps its patterns,
context words and validators on a plain class (``MobilePatterns``, ``PersonNames`` ...), used by
the column path, and the Presidio recognizer classes (``MobileRecognizer`` ...) are created on
first access, for the text path.
"""

from __future__ import annotations

from typing import Any

from egress_filter.recognizers._base import (
    ChinesePatterns,
    DetectionError,
    DetectionTimeout,
    Spec,
)
from egress_filter.recognizers.bank_card import BankCardPatterns
from egress_filter.recognizers.email import EmailPatterns
from egress_filter.recognizers.ip_address import IpAddressPatterns
from egress_filter.recognizers.landline import LandlinePatterns
from egress_filter.recognizers.license_plate import LicensePlatePatterns
from egress_filter.recognizers.location import LocationPatterns
from egress_filter.recognizers.mobile import MobilePatterns
from egress_filter.recognizers.passport import PassportPatterns
from egress_filter.recognizers.person import PersonNames
from egress_filter.recognizers.resident_id import ResidentIdPatterns
from egress_filter.recognizers.uscc import UsccPatterns

# Order is priority when two recognizers claim the same characters.
PATTERN_SPECS: tuple[type[ChinesePatterns], ...] = (
    ResidentIdPatterns,
    UsccPatterns,
    BankCardPatterns,
    MobilePatterns,
    LandlinePatterns,
    PassportPatterns,
    LicensePlatePatterns,
    EmailPatterns,
    IpAddressPatterns,
    LocationPatterns,
)

_PRESIDIO_NAMES = {
    cls.__name__.removesuffix("Patterns") + "Recognizer": cls for cls in PATTERN_SPECS
}
_PRESIDIO_NAMES["PersonRecognizer"] = PersonNames


def _presidio(name: str) -> type:
    import importlib

    return getattr(importlib.import_module(_PRESIDIO_NAMES[name].__module__), name)


def pattern_recognizers() -> tuple[type, ...]:
    """The Presidio pattern recognizer classes, in priority order (imports Presidio)."""
    return tuple(_presidio(cls.__name__.removesuffix("Patterns") + "Recognizer") for cls in PATTERN_SPECS)


def build_recognizers(language: str = "zh") -> list:
    """Fresh Presidio instances of every recognizer for one language (imports Presidio)."""
    recognizers: list = [cls(supported_language=language) for cls in pattern_recognizers()]
    recognizers.append(_presidio("PersonRecognizer")(supported_language=language))
    return recognizers


def __getattr__(attribute: str) -> Any:
    """Presidio classes (``MobileRecognizer``, ``PATTERN_RECOGNIZERS`` ...) on first access."""
    if attribute in _PRESIDIO_NAMES:
        return _presidio(attribute)
    if attribute == "PATTERN_RECOGNIZERS":
        return pattern_recognizers()
    if attribute == "ChinesePatternRecognizer":
        from egress_filter.recognizers import _base

        return _base.ChinesePatternRecognizer
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


__all__ = [
    "PATTERN_RECOGNIZERS",
    "PATTERN_SPECS",
    "BankCardPatterns",
    "BankCardRecognizer",
    "ChinesePatternRecognizer",
    "ChinesePatterns",
    "DetectionError",
    "DetectionTimeout",
    "EmailPatterns",
    "EmailRecognizer",
    "IpAddressPatterns",
    "IpAddressRecognizer",
    "LandlinePatterns",
    "LandlineRecognizer",
    "LicensePlatePatterns",
    "LicensePlateRecognizer",
    "LocationPatterns",
    "LocationRecognizer",
    "MobilePatterns",
    "MobileRecognizer",
    "PassportPatterns",
    "PassportRecognizer",
    "PersonNames",
    "PersonRecognizer",
    "ResidentIdPatterns",
    "ResidentIdRecognizer",
    "Spec",
    "UsccPatterns",
    "UsccRecognizer",
    "build_recognizers",
    "pattern_recognizers",
]
