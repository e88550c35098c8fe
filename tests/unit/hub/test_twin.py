"""Synthetic twins: same schema, valid fakes, nothing copied, deterministic."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from egress_filter import checksums
from hub.demo import generate
from hub.synth import make_twin

TRAVEL_TAGS = {
    "traveller_name": ["PERSON"], "resident_id": ["CN_RESIDENT_ID"], "mobile": ["CN_MOBILE"],
    "plate_no": ["CN_LICENSE_PLATE"], "origin_address": ["LOCATION"],
    "destination_address": ["LOCATION"], "district": ["LOCATION"],
}
ENTERPRISE_TAGS = {
    "uscc": ["CN_USCC"], "legal_representative": ["PERSON"], "contact_phone": ["CN_LANDLINE"],
    "email": ["EMAIL_ADDRESS"],
}


@pytest.fixture(scope="module")
def travel() -> pd.DataFrame:
    return generate.travel_records(3_000, seed=21)


@pytest.fixture(scope="module")
def travel_twin(travel: pd.DataFrame) -> pd.DataFrame:
    return make_twin(travel, TRAVEL_TAGS, seed=5)


def test_twin_has_the_same_schema_and_row_count(travel, travel_twin) -> None:
    assert list(travel_twin.columns) == list(travel.columns)
    assert travel_twin.dtypes.to_dict() == travel.dtypes.to_dict()
    assert len(travel_twin) == len(travel)
    assert len(make_twin(travel, TRAVEL_TAGS, seed=5, n_rows=100)) == 100


def test_no_identifier_value_is_copied_from_the_original(travel, travel_twin) -> None:
    for column in TRAVEL_TAGS:
        assert not set(travel_twin[column]) & set(travel[column]), column


def test_fake_identifiers_are_format_valid_and_keep_the_style(travel, travel_twin) -> None:
    assert all(checksums.is_valid_resident_id(v) for v in travel_twin["resident_id"])
    assert travel_twin["mobile"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert travel_twin["plate_no"].str.startswith("豫A").mean() > 0.5
    assert (travel_twin["plate_no"].str.len() == 8).mean() == pytest.approx(
        (travel["plate_no"].str.len() == 8).mean(), abs=0.05)
    assert travel_twin["resident_id"].str[:4].eq("4101").mean() > 0.5


def test_categories_follow_the_original_and_rare_values_never_appear() -> None:
    original = pd.DataFrame({"kind": ["a"] * 60 + ["b"] * 35 + ["rare"] * 4 + ["once"]})
    twin = make_twin(original, {}, seed=1, n_rows=5_000)
    assert set(twin["kind"]) == {"a", "b"}
    assert twin["kind"].eq("a").mean() == pytest.approx(60 / 95, abs=0.03)


def test_numbers_and_dates_stay_in_range_with_the_original_precision(travel, travel_twin) -> None:
    for column in ("fare_cny", "distance_km", "cargo_weight_kg"):
        assert travel_twin[column].between(travel[column].min(), travel[column].max()).all()
        assert travel_twin[column].median() == pytest.approx(travel[column].median(), rel=0.15)
    assert (travel_twin["distance_km"] * 10 % 1).abs().lt(1e-6).all()  # one decimal place
    first, last = travel["departure_time"].min(), travel["departure_time"].max()
    assert travel_twin["departure_time"].between(first, last).all()
    clinic = generate.clinic_visits(1_000, seed=2)
    twin = make_twin(clinic, {"resident_id": ["CN_RESIDENT_ID"]}, seed=2)
    assert (twin["visit_date"].dt.normalize() == twin["visit_date"]).all()  # dates stay dates
    assert twin["age"].dtype == clinic["age"].dtype


def test_enterprise_twin_has_valid_usccs_and_free_mail_domains() -> None:
    original = generate.enterprise_register(2_000, seed=4)
    twin = make_twin(original, ENTERPRISE_TAGS, seed=4)
    assert all(checksums.is_valid_uscc(v) for v in twin["uscc"])
    assert twin["contact_phone"].str.fullmatch(r"0371-\d{8}").all()
    assert twin["email"].str.fullmatch(r"[^@]+@[a-z0-9.]+").all()
    for column in ENTERPRISE_TAGS:
        assert not set(twin[column]) & set(original[column]), column
    assert not set(twin["company_name"]) & set(original["company_name"])  # free text rewritten


def test_phone_punctuation_and_plate_separators_are_kept() -> None:
    rng = np.random.default_rng(0)
    phones = [f"+86 138-{rng.integers(1000, 9999)}-{rng.integers(1000, 9999)}" for _ in range(50)]
    plates = [f"豫A·{rng.integers(10000, 99999)}" for _ in range(50)]
    original = pd.DataFrame({"phone": phones, "plate": plates})
    twin = make_twin(original, {"phone": ["CN_MOBILE"], "plate": ["CN_LICENSE_PLATE"]}, seed=3)
    assert twin["phone"].str.fullmatch(r"\+86 1[3-9]\d-\d{4}-\d{4}").all()
    assert twin["plate"].str.fullmatch(r"豫A·[A-HJ-NP-Z0-9]{5}").all()
    assert not set(twin["phone"]) & set(phones)


def test_dense_sequential_codes_are_still_never_repeated() -> None:
    original = pd.DataFrame({"code": [f"TR{i:06d}" for i in range(20_000)]})
    twin = make_twin(original, {"code": ["UNKNOWN_ENTITY"]}, seed=9)
    assert not set(twin["code"]) & set(original["code"])
    assert twin["code"].str.fullmatch(r"[A-Z]{2}\d{6}").all()


def test_same_seed_same_twin(travel) -> None:
    a = make_twin(travel, TRAVEL_TAGS, seed=8)
    pd.testing.assert_frame_equal(a, make_twin(travel, TRAVEL_TAGS, seed=8))
    assert not a.equals(make_twin(travel, TRAVEL_TAGS, seed=9))


def test_arrow_tables_in_arrow_tables_out_and_nulls_survive() -> None:
    df = generate.clinic_visits(400, seed=3)
    df.loc[df.index[::10], "phone"] = None
    twin = make_twin(pa.Table.from_pandas(df, preserve_index=False), {"phone": ["CN_MOBILE"]})
    assert isinstance(twin, pa.Table)
    assert twin.schema.names == list(df.columns)
    assert 0.03 < twin.column("phone").null_count / twin.num_rows < 0.2


def test_identifiers_read_as_numbers_keep_their_type() -> None:
    original = pd.DataFrame({"mobile": [13800000000 + i * 7919 for i in range(300)]})
    twin = make_twin(original, {"mobile": ["CN_MOBILE"]}, seed=1)
    assert twin["mobile"].dtype == np.int64
    assert all(re.fullmatch(r"1[3-9]\d{9}", str(v)) for v in twin["mobile"])
    assert not set(twin["mobile"]) & set(original["mobile"])


def test_tags_for_missing_columns_are_refused() -> None:
    from hub.errors import ValidationError

    with pytest.raises(ValidationError):
        make_twin(pd.DataFrame({"a": [1, 2]}), {"b": ["PERSON"]})
