"""Recognizers for personal information in Chinese public data, one identifier per module.

Each is a Presidio recognizer (``supported_language`` ``zh`` or ``en``) with its standard named in
its docstring, context words in both languages, and checksum validation where one exists.
"""

from __future__ import annotations

from egress_filter.recognizers._base import (
    ChinesePatternRecognizer,
    DetectionError,
    DetectionTimeout,
    Spec,
)
from egress_filter.recognizers.bank_card import BankCardRecognizer
from egress_filter.recognizers.email import EmailRecognizer
from egress_filter.recognizers.ip_address import IpAddressRecognizer
from egress_filter.recognizers.landline import LandlineRecognizer
from egress_filter.recognizers.license_plate import LicensePlateRecognizer
from egress_filter.recognizers.location import LocationRecognizer
from egress_filter.recognizers.mobile import MobileRecognizer
from egress_filter.recognizers.passport import PassportRecognizer
from egress_filter.recognizers.person import PersonRecognizer
from egress_filter.recognizers.resident_id import ResidentIdRecognizer
from egress_filter.recognizers.uscc import UsccRecognizer

# Order is priority when two recognizers claim the same characters.
PATTERN_RECOGNIZERS: tuple[type[ChinesePatternRecognizer], ...] = (
    ResidentIdRecognizer,
    UsccRecognizer,
    BankCardRecognizer,
    MobileRecognizer,
    LandlineRecognizer,
    PassportRecognizer,
    LicensePlateRecognizer,
    EmailRecognizer,
    IpAddressRecognizer,
    LocationRecognizer,
)


def build_recognizers(language: str = "zh") -> list:
    """Fresh instances of every recognizer for one language."""
    recognizers: list = [cls(supported_language=language) for cls in PATTERN_RECOGNIZERS]
    recognizers.append(PersonRecognizer(supported_language=language))
    return recognizers


__all__ = [
    "PATTERN_RECOGNIZERS",
    "BankCardRecognizer",
    "ChinesePatternRecognizer",
    "DetectionError",
    "DetectionTimeout",
    "EmailRecognizer",
    "IpAddressRecognizer",
    "LandlineRecognizer",
    "LicensePlateRecognizer",
    "LocationRecognizer",
    "MobileRecognizer",
    "PassportRecognizer",
    "PersonRecognizer",
    "ResidentIdRecognizer",
    "Spec",
    "UsccRecognizer",
    "build_recognizers",
]
