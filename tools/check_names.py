"""Check that ``import autograd`` / ``backends`` / ``nn`` / ``optim`` find THIS checkout.

chalkgrad's import names are generic: the HIPS ``autograd`` package (``pip install autograd``,
pulled in by some libraries) and other packages named ``nn`` or ``optim`` can shadow ours, or,
installed over a non-editable chalkgrad, overwrite its files. ``make test`` runs this from
outside the checkout, the way a user's script imports, and fails with what it found.

    python tools/check_names.py      # exit status 1 and an explanation when shadowed
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("autograd", "backends", "nn", "optim")


def shadowed() -> list[str]:
    """One line per import name that does not resolve to this checkout."""
    problems = []
    for name in NAMES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            problems.append(f"  {name}: cannot be found ({exc})")
            continue
        origin = None if spec is None else spec.origin
        if origin is None or origin == "namespace":
            problems.append(f"  {name}: not found (chalkgrad is not installed here)")
        elif not Path(origin).resolve().is_relative_to(ROOT):
            problems.append(f"  {name}: imported from {origin}, not from {ROOT}")
    return problems


def main() -> int:
    problems = shadowed()
    if not problems:
        return 0
    if all(line.endswith("(chalkgrad is not installed here)") for line in problems):
        print(
            f"chalkgrad is not installed in {sys.prefix}: `pip install -e .` from {ROOT} "
            "(or `make test`, which makes .venv)",
            file=sys.stderr,
        )
        return 1
    print(
        "chalkgrad: the import names resolve to other packages:\n"
        + "\n".join(problems)
        + "\nA script would then fail with errors such as\n"
        "  AttributeError: module 'autograd' has no attribute 'tensor'\n"
        "  ImportError: cannot import name 'Function' from 'autograd' (.../site-packages/...)\n"
        "(the HIPS autograd package has the same name). Use a virtual environment of its own "
        "for chalkgrad: `make clean && make test` rebuilds .venv from this checkout; in another "
        "environment, `pip uninstall autograd` removes HIPS autograd, then `pip install -e .` "
        "reinstalls chalkgrad (an install over ours may have overwritten its files).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
