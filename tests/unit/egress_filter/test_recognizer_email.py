"""EMAIL_ADDRESS: ASCII bounds next to Han text, offline public-suffix check."""

from __future__ import annotations

import socket

import pytest

from egress_filter.detect import scan_text


def values(text: str) -> list[str]:
    return [h.value for h in scan_text(text, entities=["EMAIL_ADDRESS"])]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("联系邮箱zhang.san@example.com谢谢", "zhang.san@example.com"),
        ("邮箱：li_si+egress@mail.zzu.edu.cn。", "li_si+egress@mail.zzu.edu.cn"),
        ("E-mail: WANG@Example.ORG", "WANG@Example.ORG"),
    ],
)
def test_addresses_found(text, expected):
    assert values(text) == [expected]


@pytest.mark.parametrize("text", ["user@host.notatld", "@example.com", "a@b", "版本v1.2@3"])
def test_not_addresses(text):
    assert values(text) == []


def test_validation_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    from egress_filter.recognizers import email

    email.has_public_suffix.cache_clear()
    assert email.has_public_suffix("zzu.edu.cn")
