"""IP_ADDRESS: IPv4 octets, IPv6 validated, CJK-safe boundaries."""

from __future__ import annotations

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["IP_ADDRESS"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("服务器地址192.168.1.10已停用", "192.168.1.10"),
        ("访问来源 8.8.8.8。", "8.8.8.8"),
        ("地址2001:db8::1已停用", "2001:db8::1"),
        ("IPv6 fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
    ],
)
def test_addresses_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize("text", ["256.1.1.1", "版本v1.2.3.4", "1.2.3.4.5", "10:30:00开会", "3.14"])
def test_not_addresses(text):
    assert values(text) == []
