"""Every ``xp.<name>`` the ops use must exist in CuPy too (issue 13: "check it in the CuPy API
test"). The names are read from the source (attribute accesses on ``xp``, ``ctx.xp``,
``self.xp``, ``a._backend.xp`` ...) plus the names the ops look up with ``getattr(xp, name)``,
and checked against the installed CuPy's namespace; ``import cupy`` works without a GPU.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

cupy = pytest.importorskip("cupy")

ROOT = Path(__file__).resolve().parent.parent
# NumPy-only code: the NumPy backend, and host-side data loading (autograd/data).
SKIPPED = {ROOT / "backends" / "numpy_backend.py"}

# Names reached through getattr(xp, name) rather than xp.<name>.
DYNAMIC = [
    "floor", "ceil", "trunc", "round", "sign",  # pointwise.Rounding
    "maximum", "minimum", "logaddexp",  # Backend.accumulate
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",  # compare
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "add", "subtract", "multiply", "divide",  # in-place updates
    "argmax", "argmin",
]  # fmt: skip


def _is_xp(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "xp"
    return isinstance(node, ast.Attribute) and node.attr == "xp"


def _xp_paths() -> dict:
    """{"linalg.svd": "autograd/ops/reduce.py:123", ...} for every xp.<name>[.<name>] used."""
    found = {}
    files = sorted((ROOT / "autograd").rglob("*.py")) + sorted((ROOT / "backends").glob("*.py"))
    for path in files:
        if path in SKIPPED or "data" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            if _is_xp(node.value):
                key = node.attr
            elif isinstance(node.value, ast.Attribute) and _is_xp(node.value.value):
                key = f"{node.value.attr}.{node.attr}"  # xp.linalg.svd, xp.random.rand
            else:
                continue
            found.setdefault(key, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_xp_name_exists_in_cupy():
    names = _xp_paths()
    assert len(names) > 50, "the walker found too few xp names: it has stopped seeing them"
    missing = []
    for key, where in names.items():
        target = cupy
        for part in key.split("."):
            target = getattr(target, part, None)
            if target is None:
                missing.append(f"xp.{key} ({where})")
                break
    assert not missing, f"not in CuPy {cupy.__version__}: {missing}"


@pytest.mark.parametrize("name", DYNAMIC)
def test_names_looked_up_dynamically_exist_in_cupy(name):
    assert hasattr(cupy, name)
