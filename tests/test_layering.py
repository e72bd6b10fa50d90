"""The architecture's one-way layering, checked by parsing every module's imports with ``ast``.

nn/, optim/ -> autograd/ -> backends/ (the only code that imports numpy or cupy). Host-side data
loading (autograd/data/) may use NumPy. Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx"}
HOST_SIDE_EXEMPT = ("autograd/data/",)


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) for every absolute import, including importlib/__import__ calls."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append((node.lineno, first.value.split(".")[0]))
    return found


def _violations(packages: tuple, forbidden: set, exempt: tuple = ()) -> list[str]:
    problems = []
    for package in packages:
        for path in _modules(package):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(exempt):
                continue
            for line, module in _imports(path):
                if module in forbidden:
                    problems.append(f"{rel}:{line} imports {module}")
    return problems


def test_the_packages_exist():
    for package in ("autograd", "backends", "nn", "optim"):
        assert (ROOT / package / "__init__.py").exists(), package
    assert len(_modules("autograd")) >= 5 and len(_modules("backends")) >= 3


def test_only_backends_import_numpy_or_cupy():
    problems = _violations(("autograd", "nn", "optim"), ARRAY_LIBRARIES, HOST_SIDE_EXEMPT)
    assert not problems, "ask a tensor for .xp or its backend instead:\n" + "\n".join(problems)


def test_nn_and_optim_reach_backends_only_through_autograd():
    problems = _violations(("nn", "optim"), {"backends"})
    assert not problems, "\n".join(problems)


def test_backends_never_import_the_layers_above():
    problems = _violations(("backends",), {"autograd", "nn", "optim"})
    assert not problems, "\n".join(problems)


def test_autograd_never_imports_nn_or_optim():
    problems = _violations(("autograd",), {"nn", "optim"})
    assert not problems, "\n".join(problems)


def test_optim_does_not_import_nn():
    # Optimizers take any iterable of Tensors; they do not need to know about Modules.
    problems = _violations(("optim",), {"nn"})
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import numpy as np", ["numpy"]),
        ("from numpy.linalg import norm", ["numpy"]),
        ("def f():\n    import cupy\n", ["cupy"]),
        ("import importlib\nimportlib.import_module('cupyx.scatter_add')", ["importlib", "cupyx"]),
        ("from . import tensor\nfrom .ops import shape", []),
    ],
)
def test_the_checker_sees_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "sample.py"
    path.write_text(source)
    assert [module for _, module in _imports(path)] == expected
