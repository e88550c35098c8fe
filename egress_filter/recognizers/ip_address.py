"""IP_ADDRESS: IPv4 (RFC 791, dotted quad) and IPv6 (RFC 4291 text forms) addresses.

IPv4 octets are validated inside the pattern (0-255, no leading zeros); a quad glued to more
digits, dots or letters (``v1.2.3.4``, ``1.2.3.4.5``) is refused. IPv6 candidates (hex groups
with at least two colons) are validated with :mod:`ipaddress`, which also rejects clock times
like ``10:30:00``. Boundaries are ASCII classes, so ``地址2001:db8::1已停用`` is found.
"""

from __future__ import annotations

import ipaddress

from egress_filter.recognizers._base import DIGIT_PREFILTER, ChinesePatterns, Spec, lazy_recognizer

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


class IpAddressPatterns(ChinesePatterns):
    """IPv4 and IPv6 addresses.

    Specs, context words and validators; the Presidio recognizer is :class:`IpAddressRecognizer`.
    """

    ENTITY = "IP_ADDRESS"
    SPECS = (
        Spec("ipv4", rf"{_OCTET}(?:\.{_OCTET}){{3}}", 0.6, left="0-9A-Za-z.", right="0-9A-Za-z",
             no_decimal_after=True),
        Spec("ipv6", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}", 0.5,
             left="0-9A-Za-z:", right="0-9A-Za-z:"),
    )
    CONTEXT = ("ip", "地址", "服务器", "主机", "网关", "访问", "host", "server", "address", "ip地址")
    PREFILTER = DIGIT_PREFILTER
    COLUMN_SCORE = 0.7
    NEEDS_VALIDATION = True

    def validate_result(self, pattern_text: str) -> bool | None:
        if ":" not in pattern_text:
            return None  # the IPv4 pattern already validated the octets
        try:
            return isinstance(ipaddress.ip_address(pattern_text), ipaddress.IPv6Address)
        except ValueError:
            return False


def __getattr__(attribute: str) -> type:
    """``IpAddressRecognizer``: the Presidio recognizer, created on first access."""
    return lazy_recognizer(__name__, attribute, "IpAddressRecognizer", IpAddressPatterns)
