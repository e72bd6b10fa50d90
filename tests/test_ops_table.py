"""docs/OPS.md, the generated table of supported ops, must match the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("make_ops_table", ROOT / "docs/make_ops_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ops_table_is_up_to_date():
    expected = _generator().render()
    current = (ROOT / "docs/OPS.md").read_text()
    assert current == expected, "docs/OPS.md is stale: run python docs/make_ops_table.py"


def test_ops_table_lists_this_family():
    table = (ROOT / "docs/OPS.md").read_text()
    for row in ("| `erfinv` | `A.erfinv`, `Tensor.erfinv` |", "| `cumsum` | `A.cumsum`, "
                "`Tensor.cumsum` |", "| `std_mean` | `A.std_mean` |"):  # fmt: skip
        assert row in table, row
