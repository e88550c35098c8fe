"""Build parameters: checked BEFORE anything is queued or run.

papermill turns every parameter into a line of Python (``name = <repr(value)>``) in an injected
cell, so a parameter name is code. The rules:

* a name is a Python identifier, not a keyword (nor a soft keyword), not a dunder, and must be
  assigned in the notebook's cell tagged ``parameters`` (papermill's convention);
* a value is JSON-typed: ``str``, ``int``, ``float`` (finite), ``bool``, ``None``, or lists /
  dicts (string keys) of those, at most :data:`MAX_DEPTH` deep and :data:`MAX_JSON_BYTES` in all;
* the value's type is compatible with the default in the parameters cell: a ``bool`` default
  takes only booleans, ``int`` only integers, ``float`` integers or floats, ``str`` strings,
  ``list`` lists, ``dict`` dicts; a ``None`` default or a default that is not a literal takes
  any JSON value;
* ``output_dir`` is reserved: the runner sets it to the outputs folder when the notebook declares it.

On the command line ``-p NAME VALUE`` parses VALUE as JSON when it is valid JSON (``3`` → int,
``3.5`` → float, ``true`` → bool, ``null`` → None, ``"3"`` → the string "3", ``[1,2]`` → list)
and otherwise takes it as a string (``-p district 航空港区``): :func:`parse_cli_value`.

Public API::

    parse_cli_value(text) -> Any
    check_name(name) -> str
    check_value(name, value) -> Any
    notebook_parameters(notebook: nbformat.NotebookNode) -> dict[str, Declared]
    validate(values: Mapping[str, Any], declared: Mapping[str, Declared]) -> dict[str, Any]
    read_notebook(path) -> nbformat.NotebookNode          # ValidationError if not nbformat 4
"""

from __future__ import annotations

import ast
import json
import keyword
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from hub.errors import ValidationError

OUTPUT_DIR_PARAM = "output_dir"
MAX_DEPTH = 8
MAX_JSON_BYTES = 64 * 1024
MAX_PARAMS = 100
_NO_DEFAULT = object()


@dataclass(frozen=True)
class Declared:
    """A parameter assigned in the notebook's ``parameters`` cell and its literal default."""

    name: str
    default: Any = _NO_DEFAULT  # _NO_DEFAULT: not a literal (any JSON value is accepted)

    @property
    def kind(self) -> str | None:
        """``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` or None (anything goes)."""
        if self.default is _NO_DEFAULT or self.default is None:
            return None
        for kind in (bool, int, float, str, list, dict):  # bool first: it is an int subclass
            if isinstance(self.default, kind):
                return kind.__name__
        if isinstance(self.default, tuple):
            return "list"
        return None


def _refuse(name: str, en: str, zh: str) -> ValidationError:
    return ValidationError(f"parameter {name!r}: {en}", f"参数 {name!r}：{zh}")


def parse_cli_value(text: str) -> Any:
    """``-p NAME VALUE``: VALUE as JSON when it parses, else the text itself as a string."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")  # NaN / Infinity: treated as a plain string


def check_name(name: str) -> str:
    """``name`` if papermill may safely write ``name = ...`` into the notebook."""
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise _refuse(str(name)[:60], "is not a Python identifier (letters, digits, _; ASCII)",
                      "不是合法的 Python 标识符（仅限 ASCII 字母、数字、下划线）")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise _refuse(name, "is a Python keyword", "是 Python 关键字")
    if name.startswith("__"):
        raise _refuse(name, "dunder names are reserved", "双下划线名称保留，不可使用")
    return name


def check_value(name: str, value: Any, depth: int = 0) -> Any:
    """``value`` if it is JSON-typed (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise _refuse(name, f"nested deeper than {MAX_DEPTH} levels", f"嵌套超过 {MAX_DEPTH} 层")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _refuse(name, "NaN and infinity are not allowed", "不允许 NaN 或无穷大")
        return value
    if isinstance(value, list):
        return [check_value(name, item, depth + 1) for item in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise _refuse(name, "dict keys must be strings", "字典的键必须是字符串")
        return {key: check_value(name, item, depth + 1) for key, item in value.items()}
    raise _refuse(name, f"{type(value).__name__} is not a JSON type "
                  "(str, int, float, bool, null, list, dict)",
                  f"{type(value).__name__} 不是 JSON 类型（字符串、整数、浮点数、布尔、null、列表、字典）")


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` if it is a valid nbformat-4 notebook."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # nbformat raises several unrelated types for bad input
        raise ValidationError(f"notebook {path.name}: not a valid Jupyter notebook ({exc})"[:500],
                              f"笔记本 {path.name}：不是有效的 Jupyter 笔记本") from exc
    return notebook


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NO_DEFAULT


def notebook_parameters(notebook: nbformat.NotebookNode) -> dict[str, Declared]:
    """Names assigned in the first code cell tagged ``parameters`` (empty if there is none)."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return _assignments(cell.source)
    return {}


def _assignments(source: str) -> dict[str, Declared]:
    # IPython magics (%, !) are not Python: drop those lines before parsing
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as exc:
        raise ValidationError(f"the parameters cell is not valid Python ({exc.msg})",
                              f"parameters 单元格不是有效的 Python 代码（{exc.msg}）") from exc
    found: dict[str, Declared] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = Declared(target.id, _literal(stmt.value))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            default = _literal(stmt.value) if stmt.value is not None else _NO_DEFAULT
            found[stmt.target.id] = Declared(stmt.target.id, default)
    return found


def _compatible(kind: str | None, value: Any) -> bool:
    if kind is None:
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value).__name__ == kind


def validate(values: Mapping[str, Any], declared: Mapping[str, Declared]) -> dict[str, Any]:
    """Checked parameters (names, JSON types, compatibility with the notebook's defaults)."""
    if len(values) > MAX_PARAMS:
        raise ValidationError(f"parameters: at most {MAX_PARAMS}", f"参数：最多 {MAX_PARAMS} 个")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        check_name(name)
        if name == OUTPUT_DIR_PARAM:
            raise _refuse(name, "is reserved: the build sets it to its outputs folder",
                          "为保留参数：由构建设置为输出目录")
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise _refuse(name, f"is not in the notebook's 'parameters' cell (declared: {known})",
                          f"不在笔记本的 parameters 单元格中（已声明：{known}）")
        checked[name] = check_value(name, value)
        kind = declared[name].kind
        if not _compatible(kind, checked[name]):
            raise _refuse(name, f"expects {kind} like its default {declared[name].default!r}, "
                          f"got {type(value).__name__}",
                          f"类型应为 {kind}（默认值 {declared[name].default!r}），实际为 "
                          f"{type(value).__name__}")
    size = len(json.dumps(checked, ensure_ascii=False).encode("utf-8"))
    if size > MAX_JSON_BYTES:
        raise ValidationError(f"parameters: {size} bytes, over {MAX_JSON_BYTES}",
                              f"参数：{size} 字节，超过 {MAX_JSON_BYTES}")
    return checked
