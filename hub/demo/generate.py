"""Demo tables for the Zhengzhou Airport Economy Zone: travel records, clinic visits, enterprises.

All three are fake but shaped like the real holdings of the zone's bodies: Chinese names, resident
identity numbers with real region codes, birth dates and a valid GB 11643 check character, carrier
mobile prefixes, 豫A plates (including 8-character new-energy plates), street-level addresses,
USCCs with a valid GB 32100 check character. Columns are drawn as whole arrays (numpy + Arrow), so
a million rows take a few seconds; the same seed always gives the same table.

>>> df = travel_records(1000, seed=7)
>>> write(df, "travel.parquet")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from hub.demo import fakes, vocab
from hub.errors import ValidationError

SIZES: dict[str, int] = {"small": 2_000, "medium": 100_000, "1m": 1_000_000}

_PERIOD_START = np.datetime64("2025-01-01T00:00:00", "s")
_PERIOD_DAYS = 181  # first half of 2025
# Share of trips starting in each hour: freight runs at night, people by day.
_HOUR_WEIGHTS = np.array([3, 2, 2, 2, 3, 4, 6, 8, 9, 8, 7, 6, 6, 6, 7, 7, 8, 9, 8, 6, 5, 4, 4, 3.0])
# Vehicle type -> (plate kind index into fakes.PLATE_KINDS per share, cargo kg range, base fare, per km)
_VEHICLES: dict[str, tuple[dict[int, float], tuple[float, float], float, float]] = {
    "重型货车": ({0: 0.9, 3: 0.1}, (8_000, 30_000), 180.0, 6.5),
    "中型货车": ({0: 0.95, 2: 0.05}, (3_000, 8_000), 120.0, 4.2),
    "轻型货车": ({0: 0.85, 2: 0.15}, (300, 3_000), 60.0, 2.6),
    "冷链车": ({0: 0.9, 2: 0.1}, (1_000, 8_000), 150.0, 5.0),
    "新能源物流车": ({1: 0.3, 2: 0.7}, (200, 2_000), 45.0, 2.0),
    "小型客车": ({0: 0.7, 1: 0.3}, (0, 0), 20.0, 1.8),
    "网约车": ({0: 0.4, 1: 0.6}, (0, 0), 10.0, 2.1),
    "出租车": ({0: 0.5, 1: 0.5}, (0, 0), 10.0, 2.5),
}


def _sequence_ids(prefix: str, n: int, start: int) -> pa.StringArray:
    return fakes.join(prefix, fakes.int_strings(np.arange(start, start + n), 10))


def _times_in_period(rng: np.random.Generator, n: int) -> np.ndarray:
    day = rng.integers(0, _PERIOD_DAYS, size=n)
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    seconds = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)
    return np.sort(_PERIOD_START + seconds.astype("timedelta64[s]"))


def _addresses_or_sites(rng: np.random.Generator, n: int,
                        site_share: float) -> tuple[pa.StringArray, pa.StringArray]:
    address, district = fakes.street_addresses(rng, n, residential=0.3)
    site_idx = rng.integers(0, len(vocab.LOGISTICS_SITES), size=n)
    zone = [d for d in vocab.DISTRICT_ROADS if d.startswith("航空港区")]
    site_district = pa.array([zone[i % len(zone)] for i in range(len(vocab.LOGISTICS_SITES))])
    at_site = pa.array(rng.random(n) < site_share)
    sites = pa.array(vocab.LOGISTICS_SITES).take(pa.array(site_idx))
    return (pc.if_else(at_site, sites, address),
            pc.if_else(at_site, site_district.take(pa.array(site_idx)), district))


def _vehicle_columns(rng: np.random.Generator, n: int, vehicle: np.ndarray,
                     distance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plate kind, cargo weight and fare for each row, following its vehicle type."""
    kinds = np.zeros(n, dtype=np.int64)
    weight = np.zeros(n)
    fare = np.zeros(n)
    for i, (kind_shares, (lo, hi), base, per_km) in enumerate(_VEHICLES.values()):
        rows = np.flatnonzero(vehicle == i)
        options = np.array(list(kind_shares))
        shares = np.array(list(kind_shares.values()))
        kinds[rows] = rng.choice(options, size=rows.size, p=shares / shares.sum())
        weight[rows] = rng.uniform(lo, hi, size=rows.size)
        fare[rows] = base + per_km * distance[rows] * rng.uniform(0.9, 1.15, size=rows.size)
    fare += weight / 1000 * distance * 0.45  # freight pays by ton-kilometre on top
    return kinds, np.round(weight, 1), np.round(fare, 2)


def travel_records(n_rows: int = SIZES["small"], seed: int = 0) -> pd.DataFrame:
    """交通物流 trip records: who travelled or shipped what, from where to where, in which vehicle."""
    rng = np.random.default_rng([seed, 1])
    n = n_rows
    departure = _times_in_period(rng, n)
    distance = np.round(np.clip(rng.lognormal(np.log(14), 0.75, size=n), 0.8, 320), 1)
    speed_kmh = rng.uniform(22, 65, size=n)
    arrival = departure + (distance / speed_kmh * 3600).astype("timedelta64[s]")
    types = list(vocab.VEHICLE_TYPES)
    shares = np.array(list(vocab.VEHICLE_TYPES.values()))
    vehicle = rng.choice(len(types), size=n, p=shares / shares.sum())
    kinds, weight, fare = _vehicle_columns(rng, n, vehicle, distance)
    origin, origin_district = _addresses_or_sites(rng, n, site_share=0.35)
    destination, _ = _addresses_or_sites(rng, n, site_share=0.3)
    table = pa.table({
        "record_id": _sequence_ids("TR", n, 2_025_000_001),
        "departure_time": departure,
        "arrival_time": arrival,
        "traveller_name": fakes.person_names(rng, n),
        "resident_id": fakes.resident_ids(rng, n, births=fakes.birth_dates(rng, n, 20, 64)),
        "mobile": fakes.mobiles(rng, n),
        "vehicle_type": pa.array(types).take(pa.array(vehicle)),
        "plate_no": fakes.plates(rng, n, kinds=kinds),
        "origin_address": origin,
        "destination_address": destination,
        "district": origin_district,
        "distance_km": distance,
        "cargo_weight_kg": weight,
        "fare_cny": fare,
        "payment_method": fakes.choose(rng, vocab.PAYMENT_METHODS, n),
    })
    return table.to_pandas()


def _ages_on(births: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whole years between ``births`` and ``day`` (both datetime64[D])."""
    def parts(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        year = d.astype("datetime64[Y]").astype(np.int64)
        month_day = (d.astype("datetime64[M]").astype(np.int64) % 12) * 100 + (
            d - d.astype("datetime64[M]")).astype(np.int64)
        return year, month_day
    by, bmd = parts(births)
    dy, dmd = parts(day)
    return dy - by - (dmd < bmd)


def _patients(rng: np.random.Generator, dept_names: list[str], dept: np.ndarray,
              visit_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth dates and sex per visit; 儿科 sees children, 妇产科 women of child-bearing age."""
    n = dept.size
    age_years = np.clip(rng.gamma(4.0, 11.0, size=n) + 3, 15, 95)
    male = rng.random(n) < 0.48
    kids = dept == dept_names.index("儿科")
    age_years[kids] = rng.uniform(0.1, 14, size=kids.sum())
    obgyn = dept == dept_names.index("妇产科")
    age_years[obgyn] = rng.uniform(20, 46, size=obgyn.sum())
    male[obgyn] = False
    births = visit_day - (age_years * 365.25).astype("timedelta64[D]")
    return births, male


def clinic_visits(n_rows: int = SIZES["small"], seed: int = 0) -> pd.DataFrame:
    """医疗 outpatient visits: patient, identity, clinic, department, ICD-10 code, cost."""
    rng = np.random.default_rng([seed, 2])
    n = n_rows
    day = np.sort(np.datetime64("2025-01-01") + rng.integers(0, _PERIOD_DAYS, size=n)
                  .astype("timedelta64[D]"))
    dept_names = list(vocab.DEPARTMENTS)
    shares = np.array([v[0] for v in vocab.DEPARTMENTS.values()])
    dept = rng.choice(len(dept_names), size=n, p=shares / shares.sum())
    births, male = _patients(rng, dept_names, dept, day)
    codes = np.empty(n, dtype=object)
    cost = np.empty(n)
    for i, (_, dept_codes, median) in enumerate(vocab.DEPARTMENTS.values()):
        rows = np.flatnonzero(dept == i)
        codes[rows] = np.array(dept_codes, dtype=object)[rng.integers(0, len(dept_codes), rows.size)]
        cost[rows] = rng.lognormal(np.log(median), 0.6, size=rows.size)
    _, district = fakes.street_addresses(rng, n)
    table = pa.table({
        "visit_id": _sequence_ids("MZ", n, 3_100_000_001),
        "visit_date": day.astype("datetime64[s]"),
        "patient_name": fakes.person_names(rng, n),
        "resident_id": fakes.resident_ids(rng, n, births=births, male=male),
        "phone": fakes.mobiles(rng, n),
        "age": _ages_on(births, day),
        "sex": np.where(male, "男", "女"),
        "district": district,
        "clinic": fakes.choose(rng, vocab.CLINICS, n),
        "department": pa.array(dept_names).take(pa.array(dept)),
        "diagnosis_code": pa.array(codes, type=pa.string()),
        "insurance_type": fakes.choose(rng, vocab.INSURANCE_TYPES, n),
        "cost_cny": np.round(cost, 2),
    })
    return table.to_pandas()


def _company_names(rng: np.random.Generator, n: int, industry: pa.StringArray) -> pa.StringArray:
    trade = list(vocab.TRADE_NAME_CHARS)
    word = pa.array(
        [""] * n, type=pa.string())
    for name, words in vocab.INDUSTRY_WORDS.items():
        mask = pc.equal(industry, name)
        word = pc.if_else(mask, fakes.choose(rng, words, n), word)
    return fakes.join(fakes.choose(rng, vocab.COMPANY_PLACES, n), fakes.choose(rng, trade, n),
                      fakes.choose(rng, trade, n), word, fakes.choose(rng, vocab.COMPANY_FORMS, n))


def enterprise_register(n_rows: int = SIZES["small"], seed: int = 0) -> pd.DataFrame:
    """金融/市场主体 register: company, USCC, legal representative, capital, industry, contact."""
    rng = np.random.default_rng([seed, 3])
    n = n_rows
    industry = fakes.choose(rng, vocab.INDUSTRY_WEIGHTS, n)
    # Most firms in the zone were founded after it was set up in 2013.
    age_days = np.clip(rng.exponential(2_600, size=n), 30, 27 * 365).astype("timedelta64[D]")
    founded = np.datetime64("2025-06-30") - age_days
    capital = np.round(np.clip(rng.lognormal(np.log(500), 1.3, size=n), 3, 500_000) / 10) * 10
    _, district = fakes.street_addresses(rng, n)
    table = pa.table({
        "company_name": _company_names(rng, n, industry),
        "uscc": fakes.usccs(rng, n),
        "legal_representative": fakes.person_names(rng, n),
        "registered_capital_10k_cny": capital,
        "industry": industry,
        "district": district,
        "founded_on": founded.astype("datetime64[s]"),
        "status": fakes.choose(rng, vocab.ENTERPRISE_STATUS, n),
        "employees": np.maximum(1, rng.lognormal(np.log(25), 1.2, size=n)).astype(np.int64),
        "contact_phone": fakes.landlines(rng, n),
        "email": fakes.emails(rng, n),
    })
    return table.to_pandas()


@dataclass(frozen=True)
class DemoDataset:
    """A demo table and how the catalog should describe it."""

    name: str
    build: Callable[[int, int], pd.DataFrame]
    title_zh: str
    title_en: str
    domain: str
    provider: str
    level: int


DATASETS: dict[str, DemoDataset] = {
    d.name: d for d in (
        DemoDataset("travel_records", travel_records, "航空港区交通出行与货运记录",
                    "Airport zone travel and freight records", "交通物流",
                    "航空港区交通运输局", 3),
        DemoDataset("clinic_visits", clinic_visits, "航空港区门诊就诊记录",
                    "Airport zone outpatient visits", "医疗健康", "航空港区卫生健康委员会", 3),
        DemoDataset("enterprise_register", enterprise_register, "航空港区市场主体登记信息",
                    "Airport zone enterprise register", "金融/市场主体",
                    "航空港区市场监督管理局", 2),
    )
}


def rows_for(size: str | int) -> int:
    """Row count for a size name (``small``, ``medium``, ``1m``) or a positive integer."""
    if isinstance(size, int) or str(size).isdigit():
        rows = int(size)
    elif size in SIZES:
        rows = SIZES[size]
    else:
        raise ValidationError(f"unknown size {size!r}; use one of {', '.join(SIZES)} or a number",
                              f"未知的数据规模 {size!r}；可选 {'、'.join(SIZES)} 或正整数")
    if rows <= 0:
        raise ValidationError("size must be positive", "数据规模必须为正数")
    return rows


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps that are all midnight are dates: write them as ``YYYY-MM-DD``."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            seconds = pc.cast(table.column(i), pa.timestamp("s"))
            as_int = pc.cast(seconds, pa.int64()).fill_null(0).to_numpy()
            if (as_int % 86_400 == 0).all():
                table = table.set_column(i, field.name, pc.cast(seconds, pa.date32()))
    return table


def _needs_quotes(table: pa.Table) -> bool:
    return any(
        pc.any(pc.match_substring_regex(col, r'[,"\r\n]')).as_py()
        for col in table.columns
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
    )


def write(df: pd.DataFrame | pa.Table, path: str | Path, fmt: str | None = None) -> Path:
    """Write a table as ``csv`` (UTF-8, header) or ``parquet``; ``fmt`` defaults to the suffix."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        table = _for_csv(table)
        quoting = "needed" if _needs_quotes(table) else "none"
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style=quoting))
    else:
        raise ValidationError(f"unsupported format {fmt!r}; use csv or parquet",
                              f"不支持的格式 {fmt!r}；请使用 csv 或 parquet")
    return path
