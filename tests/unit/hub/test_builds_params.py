"""Build parameters: names are code for papermill, values JSON-typed and compatible with defaults."""

from __future__ import annotations

import nbformat
import pytest

from hub.builds import params
from hub.errors import ValidationError

PARAMS_CELL = """\
# parameters
year = 2025
rate = 0.5
district = "航空港区"
strict = False
months = [1, 2]
options = {"a": 1}
anything = None
computed = list(range(3))
typed: int = 7
%matplotlib inline
"""


def notebook(source: str = PARAMS_CELL, tag: str = "parameters") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"),
                nbformat.v4.new_code_cell(source, metadata={"tags": [tag]}),
                nbformat.v4.new_code_cell("print(year)")]
    return nb


DECLARED = params.notebook_parameters(notebook())


def test_the_parameters_cell_is_read_with_literal_defaults():
    assert {name: d.kind for name, d in DECLARED.items()} == {
        "year": "int", "rate": "float", "district": "str", "strict": "bool", "months": "list",
        "options": "dict", "anything": None, "computed": None, "typed": "int"}
    assert DECLARED["district"].default == "航空港区"


def test_a_notebook_without_a_parameters_cell_declares_nothing():
    assert params.notebook_parameters(notebook(tag="other")) == {}


@pytest.mark.parametrize("name", ["x;import os", "__class__", "__import__", "import", "class",
                                  "match", "1abc", "a b", "a-b", "", "x\nimport os", "名字"])
def test_names_that_are_not_plain_identifiers_are_refused(name):
    with pytest.raises(ValidationError, match="parameter"):
        params.validate({name: 1}, DECLARED)


def test_an_unknown_name_is_refused_and_the_known_ones_are_listed():
    with pytest.raises(ValidationError, match=r"'yeer'.*not in the notebook's 'parameters' cell"
                       r".*year") as err:
        params.validate({"yeer": 2024}, DECLARED)
    assert "参数 'yeer'" in err.value.zh


@pytest.mark.parametrize(("name", "value"), [
    ("year", "2024"), ("year", 2024.5), ("year", True), ("rate", "0.1"), ("rate", False),
    ("district", 3), ("strict", 1), ("strict", "true"), ("months", {"a": 1}), ("options", [1]),
    ("typed", "7")])
def test_a_value_of_the_wrong_type_for_its_default_is_refused(name, value):
    with pytest.raises(ValidationError, match=rf"parameter '{name}': expects"):
        params.validate({name: value}, DECLARED)


def test_compatible_values_pass_and_ints_widen_to_floats():
    values = {"year": 2024, "rate": 1, "district": "新郑市", "strict": True, "months": [3],
              "options": {"b": [1, None]}, "anything": {"x": 1.5}, "computed": "free",
              "typed": 8}
    assert params.validate(values, DECLARED) == values


@pytest.mark.parametrize("value", [float("nan"), float("inf"), (1, 2), {1: "a"}, b"x",
                                   object(), {"a": {1, 2}}])
def test_values_that_are_not_json_typed_are_refused(value):
    with pytest.raises(ValidationError, match="parameter 'anything'"):
        params.validate({"anything": value}, DECLARED)


def test_deep_or_huge_values_are_refused():
    deep: list = []
    for _ in range(params.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested"):
        params.validate({"anything": deep}, DECLARED)
    with pytest.raises(ValidationError, match="bytes"):
        params.validate({"anything": "x" * (params.MAX_JSON_BYTES + 1)}, DECLARED)


def test_output_dir_is_reserved_for_the_runner():
    declared = params.notebook_parameters(notebook("output_dir = 'out'"))
    with pytest.raises(ValidationError, match="reserved"):
        params.validate({"output_dir": "/etc"}, declared)


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("3.5", 3.5), ("true", True), ("null", None), ('"3"', "3"), ("[1, 2]", [1, 2]),
    ('{"a": 1}', {"a": 1}), ("航空港区", "航空港区"), ("2025-01", "2025-01"), ("NaN", "NaN"),
    ("Infinity", "Infinity"), ("", "")])
def test_cli_values_are_json_when_valid_else_strings(text, value):
    assert params.parse_cli_value(text) == value


def test_a_parameters_cell_that_is_not_python_is_refused():
    with pytest.raises(ValidationError, match="parameters cell is not valid Python"):
        params.notebook_parameters(notebook("year = = 3"))


def test_read_notebook_refuses_files_that_are_not_notebooks(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": "no"}')
    with pytest.raises(ValidationError, match="not a valid Jupyter notebook"):
        params.read_notebook(bad)
    good = tmp_path / "good.ipynb"
    nbformat.write(notebook(), str(good))
    assert params.read_notebook(good).cells[1].source == PARAMS_CELL
