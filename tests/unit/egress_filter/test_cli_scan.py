"""``enclave scan``: one JSON object, exit 0 whenever the scan ran, bilingual summaries."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.cli.main import cli, main


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ok.csv").write_text("区县,人数\n金水区,120\n二七区,35\n", encoding="utf-8")
    (tmp_path / "phone.txt").write_text("联系 13812345678\n", encoding="utf-8")
    return tmp_path


def run(*args, env=None):
    return CliRunner().invoke(cli, ["scan", *args], env=env or {}, catch_exceptions=False)


def test_json_shape(files):
    given = [str(files / "ok.csv"), str(files / "phone.txt"), "no/such/file.csv"]
    result = run(*given, "--json", "--level", "2")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert set(out) == {"files", "policy"}
    assert [f["path"] for f in out["files"]] == given
    assert [f["verdict"] for f in out["files"]] == ["pass", "block", "block"]
    for f in out["files"]:
        assert {"path", "verdict", "reasons", "findings"} <= set(f)
    [finding] = out["files"][1]["findings"]
    assert finding["entity"] == "CN_MOBILE" and finding["location"] == {"line": 1, "start": 3, "end": 14}
    assert finding["examples"] == ["1*********8"]
    assert out["files"][2]["reasons"][0]["code"] == "not_found"
    assert out["policy"]["name"] == "enclave-default" and out["policy"]["level"] == 2
    assert len(out["policy"]["sha256"]) == 64


def test_directory_is_walked(files):
    out = json.loads(run(str(files), "--json").stdout)
    assert sorted(f["path"] for f in out["files"]) == [str(files / "ok.csv"), str(files / "phone.txt")]


@pytest.mark.parametrize("lang,words", [("zh", ["拦截", "通过", "策略"]), ("en", ["block", "pass", "Policy"])])
def test_human_summary_follows_language(files, lang, words):
    result = run(str(files / "ok.csv"), str(files / "phone.txt"), env={"ENCLAVE_LANG": lang})
    assert result.exit_code == 0
    for word in words:
        assert word in result.stdout
    assert "13812345678" not in result.stdout


def test_bad_policy_is_a_command_error(files, capsys):
    bad = files / "p.yaml"
    bad.write_text("name: x\nversion: '1'\ndefaults: {max_file_mib: -1}\nlevels: {}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(files / "ok.csv"), "--policy", str(bad)])
    assert exit_info.value.code == 1
    assert "max_file_mib" in capsys.readouterr().err


def test_level_4_blocks_everything(files):
    out = json.loads(run(str(files / "ok.csv"), "--json", "--level", "4").stdout)
    assert out["files"][0]["verdict"] == "block"
    assert out["files"][0]["reasons"][0]["code"] == "level_no_egress"
