"""Statistical disclosure rules, each with a passing and a failing table."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pytest

from egress_filter.sdc import SdcConfig, check_table, check_text, classify, read_acro_record

CFG = SdcConfig()


def table(**columns) -> pa.Table:
    return pa.table({k: [None if v is None else str(v) for v in vals] for k, vals in columns.items()})


def entities(t: pa.Table, config: SdcConfig = CFG, **kw) -> dict[str, list[int]]:
    findings, _ = check_table(t, config, **kw)
    return {f.entity: f.rows for f in findings}


def test_threshold_pass_and_fail():
    ok = table(区县=["金水区", "二七区", "中原区"], 人数=[10, 250, 31])
    assert entities(ok) == {}
    bad = table(区县=["金水区", "二七区", "中原区"], 人数=[10, 9, 1])
    assert entities(bad) == {"SDC_THRESHOLD": [1, 2]}


def test_zeros_are_disclosive_unless_configured():
    t = table(district=["a", "b"], count=[0, 40])
    assert entities(t) == {"SDC_ZERO": [0]}
    assert entities(t, SdcConfig(zeros_disclosive=False)) == {}


def test_negative_counts_go_to_review():
    findings, _ = check_table(table(group=["a", "b"], n=[-3, 40]), CFG)
    assert [(f.entity, f.verdict) for f in findings] == [("SDC_NEGATIVE", "review")]


def test_count_columns_by_name_and_integer_columns():
    t = table(区县=["a", "b"], 月份=[1, 2], 次数=[12, 13], mean_age=[33.5, 40.1], trips=[20, 30],
              other=[50, 60])
    roles = classify(t)
    assert roles.counts == ["次数", "trips", "other"]
    assert {"区县", "月份", "mean_age"} <= set(roles.dimensions)


def test_statistics_are_not_counts():
    t = table(区县=["a", "b"], 人数=[40, 50], 平均费用=[3, 4], rate_pct=[1, 2])
    assert entities(t) == {}


def test_dominance_nk_pass_and_fail():
    ok = table(行业=["a", "b"], total=[100, 200], top1=[40, 50], top2=[30, 40])
    assert entities(ok) == {}
    # 60 + 31 = 91 % of the total; the others (9) are still ≥ 10 % of the largest (6)
    bad = table(行业=["a", "b"], total=[100, 200], top1=[60, 50], top2=[31, 40])
    assert entities(bad) == {"SDC_DOMINANCE": [0]}


def test_p_percent_pass_and_fail():
    # top two are 60 + 35 = 95% → also dominance; p%: others 5 < 10% of 60 = 6
    bad = table(行业=["a"], 金额=[100], 最大=[60], 第二=[35])
    assert entities(bad) == {"SDC_DOMINANCE": [0], "SDC_P_PERCENT": [0]}
    # dominance with N=1 only: top1 = 85 of 100 passes k=0.9 and p%: 100-85-0=15 ≥ 8.5
    ok = table(行业=["a"], total=[100], top1=[85])
    assert entities(ok, SdcConfig(nk_n=1)) == {}
    # p% alone: others 100 - 50 - 46 = 4 < 10 % of 50; top two are 96 % < k = 99 %
    only_p = table(行业=["a"], total=[100], top1=[50], top2=[46])
    assert "SDC_P_PERCENT" in entities(only_p, SdcConfig(nk_k=0.99))


def test_dominance_with_negative_contributions_is_review():
    findings, _ = check_table(table(行业=["a"], total=[100], top1=[-5], top2=[1]), CFG)
    assert [(f.entity, f.verdict) for f in findings] == [("SDC_NEGATIVE", "review")]


def test_dof_in_tables_and_text():
    assert entities(table(model=["m1", "m2"], df_resid=[30, 12])) == {}
    assert entities(table(model=["m1", "m2"], df_resid=[30, 4])) == {"SDC_DOF": [1]}
    statsmodels = "                 OLS Regression Results\nDf Residuals:                       7\n"
    assert [(line, detail) for line, _, _, detail in check_text(statsmodels, CFG)] == [
        (2, "residual degrees of freedom 7 < 10")]
    assert check_text("Df Residuals:   42\nResidual standard error: 1.2 on 40 degrees of freedom", CFG) == []
    r_summary = "Residual standard error: 1.2 on 8 degrees of freedom"
    assert len(check_text(r_summary, CFG)) == 1


def test_microdata_quasi_identifiers():
    n = 40
    micro = table(age=[20 + i for i in range(n)], sex=["M", "F"] * (n // 2),
                  district=["金水区"] * n, diagnosis=["x"] * n)
    found = entities(micro)
    assert list(found) == ["MICRODATA"] and len(found["MICRODATA"]) == n
    # the same dimensions with a count column are an aggregate, judged by counts
    agg = table(age=[20 + i for i in range(n)], sex=["M", "F"] * (n // 2), district=["金水区"] * n,
                n=[15] * n)
    assert entities(agg) == {}


def test_microdata_identifier_columns():
    n = 30
    by_name = table(patient_id=[f"P{i:04d}" for i in range(n)], diagnosis=["x"] * n)
    assert "MICRODATA" in entities(by_name)
    # a unique key next to counts is an aggregate key, not a person
    keyed = table(district_id=[f"D{i}" for i in range(n)], count=[50] * n)
    assert entities(keyed) == {}
    # detector-confirmed identifier columns are row-level even next to counts
    assert "MICRODATA" in entities(keyed, identifier_columns={"district_id"})


def test_small_tables_are_not_called_microdata():
    t = table(age=[20, 30], sex=["M", "F"], district=["a", "b"])
    assert "MICRODATA" not in entities(t)


@pytest.mark.parametrize("status", ["fail", "pass"])
def test_acro_results_json_is_read(tmp_path, status):
    out = tmp_path / "output_0_0.csv"
    out.write_text("a,n\nx,3\n")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    (tmp_path / "checksums").mkdir()
    (tmp_path / "checksums" / "output_0_0.csv.txt").write_text(digest if status == "pass" else "0" * 64)
    (tmp_path / "results.json").write_text(json.dumps({"version": "1.0.2", "results": {"output_0": {
        "uid": "output_0", "status": status, "type": "table", "summary": "MinimumThresholdCheck: fail",
        "exception": "", "command": "acro.crosstab(df.a, df.b)",
        "files": [{"name": "output_0_0.csv", "sdc": {"summary": {"MinimumThresholdCheck": 1}}}]}}}))
    record = read_acro_record(out, digest)
    assert record["status"] == status
    assert record["sdc_summary"] == {"MinimumThresholdCheck": 1}
    assert record["checksum_valid"] is (status == "pass")
    assert read_acro_record(tmp_path / "other.csv") is None


def test_acro_results_json_broken(tmp_path):
    (tmp_path / "results.json").write_text("{not json")
    assert "error" in read_acro_record(tmp_path / "x.csv")
