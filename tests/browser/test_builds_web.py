"""Fast checks of the airlock app's build pages' pieces: notebook listing, parameter parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.airlock.web import builds
from hub.airlock.web.messages import MESSAGES
from hub.builds.states import STATES
from hub.errors import ValidationError


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ENCLAVE_HOME", str(tmp_path))
    root = tmp_path / "workspaces" / "analyst1" / "1"
    root.mkdir(parents=True)
    return root


def test_workspace_notebooks_lists_ipynb_skips_hidden_outbox_and_links(workspace: Path,
                                                                       tmp_path: Path) -> None:
    (workspace / "a.ipynb").write_text("{}")
    (workspace / "sub" / "deep").mkdir(parents=True)
    (workspace / "sub" / "deep" / "b.ipynb").write_text("{}")
    (workspace / "notes.txt").write_text("x")
    (workspace / ".ipynb_checkpoints").mkdir()
    (workspace / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (workspace / "outbox").mkdir()
    (workspace / "outbox" / "c.ipynb").write_text("{}")
    outside = tmp_path / "elsewhere.ipynb"
    outside.write_text("{}")
    os.symlink(outside, workspace / "link.ipynb")
    os.symlink(tmp_path, workspace / "linked_dir")
    assert builds.workspace_notebooks("analyst1", 1) == ["a.ipynb", "sub/deep/b.ipynb"]


def test_workspace_notebooks_of_a_missing_workspace_is_empty(workspace: Path) -> None:
    assert builds.workspace_notebooks("analyst1", 2) == []
    assert builds.workspace_notebooks("nobody", 1) == []


def test_parse_parameters_rows_are_typed_like_the_cli() -> None:
    rows = [("make_chart", "false"), ("min_cell", "12"), ("district", "航空港区"), ("", "")]
    assert builds.parse_parameters(rows, "") == {"make_chart": False, "min_cell": 12,
                                                 "district": "航空港区"}


def test_parse_parameters_json_object_and_rows_together() -> None:
    got = builds.parse_parameters([("min_cell", "10")], '{"age_edges": [20, 50]}')
    assert got == {"age_edges": [20, 50], "min_cell": 10}


@pytest.mark.parametrize(("rows", "text", "words"), [
    ([], "[1, 2]", "object"),
    ([], "{bad json", "JSON"),
    ([("a", "1")], '{"a": 2}', "twice"),
])
def test_parse_parameters_refusals_are_bilingual(rows: list[tuple[str, str]], text: str,
                                                 words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        builds.parse_parameters(rows, text)
    assert words in caught.value.en and caught.value.zh.startswith("参数")


def test_log_tail_keeps_the_last_lines() -> None:
    text = "\n".join(f"line {i}" for i in range(500))
    tail, total = builds.log_tail(text, 3)
    assert total == 500 and tail == "line 497\nline 498\nline 499"


def test_every_build_state_has_a_message() -> None:
    assert {f"build_state_{s}" for s in STATES} <= MESSAGES.keys()
