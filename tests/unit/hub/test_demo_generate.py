"""Demo tables: valid identifiers, realistic shapes, determinism, writing."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from egress_filter import checksums
from hub.demo import fakes, generate
from hub.errors import ValidationError

MOBILE = re.compile(r"^1(?:3\d|4[57]|5[0-35-9]|6[25-7]|7[0-35-8]|8\d|9[0-35-9])\d{8}$")
PLATE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]"
    r"(?:[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF]|[A-HJ-NP-Z0-9]{5}|\d{4}挂)$"
)


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    return generate.travel_records(3_000, seed=11)


@pytest.fixture(scope="module")
def clinic() -> pd.DataFrame:
    return generate.clinic_visits(3_000, seed=11)


@pytest.fixture(scope="module")
def enterprises() -> pd.DataFrame:
    return generate.enterprise_register(3_000, seed=11)


def test_resident_ids_pass_gb11643_and_mostly_come_from_zhengzhou(travel: pd.DataFrame) -> None:
    ids = travel["resident_id"]
    assert all(checksums.is_valid_resident_id(v) for v in ids)
    assert ids.str[:4].eq("4101").mean() > 0.5
    assert ids.str[:2].eq("41").mean() > 0.85


def test_travel_records_have_valid_phones_plates_and_new_energy_plates(travel: pd.DataFrame) -> None:
    assert travel["mobile"].str.fullmatch(MOBILE.pattern).all()
    assert travel["plate_no"].str.fullmatch(PLATE.pattern).all()
    assert (travel["plate_no"].str.len() == 8).sum() > 100  # new-energy plates are present
    assert travel["plate_no"].str.startswith("豫A").mean() > 0.5
    assert travel["origin_address"].str.contains("郑州市").all()
    assert (travel["arrival_time"] > travel["departure_time"]).all()
    assert travel["departure_time"].is_monotonic_increasing


def test_freight_weighs_and_passenger_trips_do_not(travel: pd.DataFrame) -> None:
    passengers = travel["vehicle_type"].isin(["网约车", "出租车", "小型客车"])
    assert (travel.loc[passengers, "cargo_weight_kg"] == 0).all()
    assert (travel.loc[~passengers, "cargo_weight_kg"] > 0).all()
    assert (travel["fare_cny"] > 0).all()


def test_clinic_ages_and_sex_agree_with_the_resident_id(clinic: pd.DataFrame) -> None:
    assert all(checksums.is_valid_resident_id(v) for v in clinic["resident_id"])
    births = pd.to_datetime(clinic["resident_id"].str[6:14], format="%Y%m%d")
    years = (clinic["visit_date"] - births).dt.days / 365.25
    assert (abs(years - clinic["age"]) < 1.01).all()
    male = clinic["resident_id"].str[16].astype(int) % 2 == 1
    assert (clinic["sex"] == np.where(male, "男", "女")).all()
    obgyn = clinic["department"] == "妇产科"
    assert (clinic.loc[obgyn, "sex"] == "女").all()
    assert (clinic.loc[clinic["department"] == "儿科", "age"] < 15).all()
    assert clinic["diagnosis_code"].str.fullmatch(r"[A-Z]\d{2}(?:\.\d)?").all()


def test_enterprise_usccs_are_valid_and_contacts_well_formed(enterprises: pd.DataFrame) -> None:
    assert all(checksums.is_valid_uscc(v) for v in enterprises["uscc"])
    assert enterprises["uscc"].str[2:4].eq("41").all()
    assert enterprises["contact_phone"].str.fullmatch(r"0371-[568]\d{7}").all()
    assert enterprises["email"].str.fullmatch(r"[a-z0-9]+@[a-z0-9.]+\.[a-z]{2,}").all()
    assert enterprises["company_name"].str.contains("公司|企业").all()


def test_same_seed_same_table_other_seed_other_table() -> None:
    for dataset in generate.DATASETS.values():
        a = dataset.build(500, 3)
        pd.testing.assert_frame_equal(a, dataset.build(500, 3))
        assert not a.equals(dataset.build(500, 4))
        assert len(a) == 500


def test_million_row_generators_are_vectorized() -> None:
    import time

    start = time.perf_counter()
    df = generate.travel_records(200_000, seed=1)
    assert len(df) == 200_000
    assert time.perf_counter() - start < 5  # ~0.6 s here; 1M rows take ~3 s


def test_fake_bank_cards_pass_luhn_and_passports_have_the_e_format() -> None:
    rng = np.random.default_rng(5)
    assert all(checksums.is_valid_luhn(v) for v in fakes.bank_cards(rng, 500).to_pylist())
    assert all(re.fullmatch(r"E(?:\d{8}|[A-HJ-NP-Z]\d{7})", v)
               for v in fakes.passports(rng, 500).to_pylist())
    kinds = np.arange(400) % 4
    assert all(PLATE.fullmatch(v) for v in fakes.plates(rng, 400, kinds=kinds).to_pylist())


def test_write_round_trips_csv_and_parquet(tmp_path, clinic: pd.DataFrame) -> None:
    small = clinic.head(50)
    csv = generate.write(small, tmp_path / "c.csv")
    text = csv.read_text(encoding="utf-8")
    assert text.splitlines()[1].split(",")[1] == small["visit_date"].iloc[0].strftime("%Y-%m-%d")
    back = pd.read_csv(csv, dtype={"resident_id": str, "phone": str})
    assert back["resident_id"].tolist() == small["resident_id"].tolist()
    pq = generate.write(small, tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(pq), small, check_dtype=False)
    with pytest.raises(ValidationError):
        generate.write(small, tmp_path / "c.xlsx")


def test_sizes_by_name_or_number() -> None:
    assert generate.rows_for("small") == 2_000
    assert generate.rows_for("1m") == 1_000_000
    assert generate.rows_for("123") == 123
    with pytest.raises(ValidationError):
        generate.rows_for("huge")
