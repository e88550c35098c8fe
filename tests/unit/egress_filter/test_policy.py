"""The policy file: defaults merge into levels, the schema names bad fields, the hash is stable."""

from __future__ import annotations

import copy
from importlib import resources

import pytest
import yaml

from egress_filter.model import Verdict
from egress_filter.policy import PolicyError, default_policy, load_policy, parse_policy, validate


@pytest.fixture
def document() -> dict:
    text = resources.files("egress_filter.policies").joinpath("default.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def test_default_policy_levels():
    policy = default_policy()
    assert policy.name == "enclave-default" and len(policy.sha256) == 64
    one, two, three, four = (policy.level(n) for n in (1, 2, 3, 4))
    assert not four.egress and one.egress and three.egress
    assert three.max_file_bytes == 16 * 1024 * 1024 and two.max_table_rows == 5000
    assert three.sdc.threshold == 10 and three.sdc.nk_k == 0.9 and three.sdc.p_ratio == 0.1
    assert three.sdc.dof_threshold == 10 and three.sdc.zeros_disclosive
    # direct identifiers block everywhere; names and places: review at 1-2, block at 3
    for rules in (one, two, three):
        assert rules.entity_verdict("CN_RESIDENT_ID") is Verdict.BLOCK
        assert rules.entity_verdict("CN_MOBILE") is Verdict.BLOCK
        assert rules.entity_verdict("BANK_CARD") is Verdict.BLOCK
    assert two.entity_verdict("PERSON") is Verdict.REVIEW
    assert three.entity_verdict("PERSON") is Verdict.BLOCK
    assert three.entity_verdict("SOMETHING_NEW") is Verdict.REVIEW
    assert "ipynb" in two.allowed_types and "ipynb" not in three.allowed_types
    assert one.sdc_verdict("SDC_THRESHOLD") is Verdict.REVIEW
    assert three.sdc_verdict("SDC_THRESHOLD") is Verdict.BLOCK
    assert three.sdc_verdict("MICRODATA") is Verdict.BLOCK


def test_hash_is_of_canonical_form_not_formatting(document):
    a = parse_policy(yaml.safe_dump(document), source="a")
    b = parse_policy(yaml.safe_dump(document, default_flow_style=True, sort_keys=False), source="b")
    assert a.sha256 == b.sha256 == default_policy().sha256
    changed = copy.deepcopy(document)
    changed["defaults"]["sdc"]["threshold"] = 11
    assert parse_policy(yaml.safe_dump(changed), source="c").sha256 != a.sha256


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["levels"]["2"].__setitem__("max_file_mib", -1), "levels.2.max_file_mib"),
    (lambda d: d["defaults"]["sdc"].__setitem__("thresold", 5), "defaults.sdc"),
    (lambda d: d["defaults"]["sdc"]["verdicts"].__setitem__("SDC_ZERO", "maybe"),
     "defaults.sdc.verdicts.SDC_ZERO"),
    (lambda d: d["defaults"].__setitem__("allowed_types", ["csv", "exe"]), "defaults.allowed_types.1"),
    (lambda d: d["levels"].pop("4"), "levels"),
    (lambda d: d["levels"].__setitem__("5", {}), "levels"),
    (lambda d: d.pop("version"), "(top level)"),
    (lambda d: d["defaults"]["entities"].__setitem__("block", ["cn_mobile"]),
     "defaults.entities.block.0"),
    (lambda d: d["defaults"].pop("max_table_rows"), "levels.1 (merged with defaults)"),
])
def test_schema_errors_name_the_field(document, edit, field):
    edit(document)
    with pytest.raises(PolicyError) as err:
        validate(document)
    assert f"field {field}" in err.value.en and field in err.value.zh


def test_load_policy_file_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(PolicyError, match="field"):
        load_policy(bad)


def test_custom_policy_file_round_trip(tmp_path, document):
    document["name"] = "zone-strict"
    document["levels"]["1"]["max_table_rows"] = 100
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    policy = load_policy(path)
    assert policy.name == "zone-strict" and policy.level(1).max_table_rows == 100
    assert policy.to_json(1) == {"name": "zone-strict", "version": "1.0.0", "sha256": policy.sha256,
                                 "source": str(path), "level": 1}


def test_level_out_of_range():
    with pytest.raises(PolicyError):
        default_policy().level(5)
