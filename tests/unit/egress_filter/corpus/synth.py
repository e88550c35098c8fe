"""Generators of format-valid fake identifiers and of a travel-records-like table.

Every identifier is made with the same check-digit code the recognizers validate against
(:mod:`egress_filter.checksums`), from a seeded generator, so tests and benchmarks are
reproducible. No real person's data is used.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa

from egress_filter.checksums import (
    RESIDENT_ID_CHECK,
    RESIDENT_ID_WEIGHTS,
    USCC_ALPHABET,
    luhn_check_digit,
    resident_id_check_char,
    uscc_check_char,
)

ZHENGZHOU_COUNTIES = ["410102", "410103", "410104", "410105", "410106", "410108", "410122",
                      "410181", "410182", "410183", "410184", "410185", "110105", "310104"]
DISTRICTS = ["中原区", "二七区", "管城回族区", "金水区", "上街区", "惠济区", "中牟县", "新郑市"]
ROADS = ["花园路", "经三路", "农业路", "人民路", "大学路", "航海路", "紫荆山路", "建设路", "文化路",
         "郑汴路", "商都路", "黄河路", "东风路", "丰庆路", "南阳路", "长江路"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰志红玉华建国文晓春雪梅海燕鹏飞")
MOBILE_PREFIXES = ["130", "133", "135", "138", "139", "150", "152", "158", "176", "186", "189",
                   "199"]
PLATE_CHARS = list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")


def resident_id(rng: random.Random, *, valid: bool = True) -> str:
    county = rng.choice(ZHENGZHOU_COUNTIES)
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{county}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    check = resident_id_check_char(body)
    if not valid:
        check = rng.choice([c for c in RESIDENT_ID_CHECK if c != check])
    return body + check


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    return f"0371-{rng.choice('6589')}{rng.randrange(10**7):07d}"


def bank_card(rng: random.Random, *, valid: bool = True, length: int = 19) -> str:
    body = "621700" + "".join(str(rng.randrange(10)) for _ in range(length - 7))
    check = luhn_check_digit(body)
    if not valid:
        check = str((int(check) + rng.randrange(1, 10)) % 10)
    return body + check


def uscc(rng: random.Random, *, valid: bool = True) -> str:
    body = "91" + rng.choice(ZHENGZHOU_COUNTIES) + "".join(
        rng.choice(USCC_ALPHABET) for _ in range(9))
    check = uscc_check_char(body)
    if not valid:
        check = rng.choice([c for c in USCC_ALPHABET if c != check])
    return body + check


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def plate(rng: random.Random) -> str:
    return "豫A" + "".join(rng.choice(PLATE_CHARS[:24] + PLATE_CHARS[24:]) for _ in range(5))


def address(rng: random.Random) -> str:
    return (f"郑州市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.randrange(1, 300)}号"
            f"{rng.randrange(1, 20)}号楼{rng.randrange(1, 6)}单元{rng.randrange(1, 30)}0{rng.randrange(1, 5)}室")


def bad_checksum_number(rng: random.Random, length: int = 18) -> str:
    """A digit string shaped like an ID/card that fails GB 11643, Luhn and GB 32100 alike."""
    from egress_filter.checksums import is_valid_luhn, is_valid_resident_id, is_valid_uscc

    while True:
        candidate = resident_id(rng)[:length - 1] if length == 18 else (
            "62" + "".join(str(rng.randrange(10)) for _ in range(length - 3)))
        candidate += str(rng.randrange(10))
        if not (is_valid_resident_id(candidate) or is_valid_luhn(candidate)
                or is_valid_uscc(candidate)):
            return candidate


# -- the 1M-row table, vectorized -------------------------------------------------------------


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return rng.integers(0, 10, size=(n, width), dtype=np.uint8)


def _ascii_column(chars: np.ndarray) -> pa.Array:
    """``(n, w)`` uint8 ASCII → pyarrow string array, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def _resident_ids(rng: np.random.Generator, n: int) -> pa.Array:
    counties = np.array([[int(c) for c in x] for x in ZHENGZHOU_COUNTIES], dtype=np.int64)
    digits = np.zeros((n, 17), dtype=np.int64)
    digits[:, :6] = counties[rng.integers(0, len(counties), n)]
    births = (np.datetime64("1950-01-01") + rng.integers(0, 365 * 55, n)).astype("datetime64[D]")
    ymd = np.char.replace(births.astype(str), "-", "").astype("S8")
    digits[:, 6:14] = np.frombuffer(ymd.tobytes(), dtype=np.uint8).reshape(n, 8) - ord("0")
    digits[:, 14:17] = rng.integers(0, 10, (n, 3))
    total = (digits * np.array(RESIDENT_ID_WEIGHTS)).sum(axis=1)
    check = np.frombuffer(RESIDENT_ID_CHECK.encode(), dtype=np.uint8)[total % 11]
    chars = np.concatenate([(digits + ord("0")).astype(np.uint8), check[:, None]], axis=1)
    return _ascii_column(chars)


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array([int(p) for p in MOBILE_PREFIXES], dtype=np.int64)
    return prefixes[rng.integers(0, len(prefixes), n)] * 10**8 + rng.integers(0, 10**8, n)


def _pick(rng: np.random.Generator, options: list[str], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[rng.integers(0, len(options), n)]


def travel_table(n: int = 1_000_000, seed: int = 7) -> pa.Table:
    """A travel-records-like table: one row per trip, a real-shaped identifier in each column."""
    rng = np.random.default_rng(seed)
    given2 = np.char.add(_pick(rng, GIVEN, n).astype(str), _pick(rng, GIVEN, n).astype(str))
    given = np.where(rng.random(n) < 0.6, given2, _pick(rng, GIVEN, n).astype(str))
    names = np.char.add(_pick(rng, SURNAMES, n).astype(str), given)
    plate_chars = np.array([ord(c) for c in PLATE_CHARS], dtype=np.uint8)
    plates = np.char.add("豫A", _ascii_column(plate_chars[rng.integers(0, 34, (n, 5))])
                         .to_numpy(zero_copy_only=False).astype(str))
    street = np.char.add(_pick(rng, DISTRICTS, n).astype(str), _pick(rng, ROADS, n).astype(str))
    door = np.char.add(rng.integers(1, 300, n).astype(str), "号")
    room = np.char.add(np.char.add(rng.integers(1, 20, n).astype(str), "号楼"),
                       np.char.add(rng.integers(101, 2999, n).astype(str), "室"))
    room = np.where(rng.random(n) < 0.3, room, "")
    addresses = np.char.add(np.char.add(street, door), room)
    dates = (np.datetime64("2025-01-01") + rng.integers(0, 365, n)).astype("datetime64[D]")
    return pa.table({
        "姓名": pa.array(names),
        "身份证号": _resident_ids(rng, n),
        "手机": pa.array(_mobiles(rng, n)).cast(pa.string()),
        "车牌": pa.array(plates),
        "住址": pa.array(addresses),
        "区县": pa.array(_pick(rng, DISTRICTS, n).astype(str)),
        "出行日期": pa.array(dates.astype(str)),
        "金额": pa.array(np.round(rng.gamma(2.0, 40.0, n), 2)),
        "次数": pa.array(rng.integers(1, 50, n)),
    })
